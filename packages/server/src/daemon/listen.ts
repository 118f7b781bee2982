import { chmod, chown, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { connect } from 'node:net';
import { ShedError } from '../core/errors.js';
import type { Api } from '../api/app.js';

/**
 * Connections the kernel queues while shedd's event loop is busy. A non-blocking connect to a
 * unix socket whose queue is full fails at once with EAGAIN (no SYN retry as with TCP), so
 * Node's default of 511 turns a burst of clients (the bad-input flood of 1,000 requests) that
 * meets a stalled loop into errors. The kernel caps it at net.core.somaxconn (4096 here).
 */
const SOCKET_BACKLOG = 4096;

/** Who may use the socket besides root. */
export interface SocketAccess {
  /** @default 0o600 */
  readonly mode: number;
  /** gid the socket is chown'd to. @default none (root's group) */
  readonly gid?: number;
}

/**
 * Serves the API on a unix socket: it is 0600 before anyone can connect (umask during bind),
 * then given to `access.gid` and opened to `access.mode` (0660 for a group). The directory, when shedd creates it, is 0711: not
 * listable, but traversable, since it also holds the sandboxes' run dirs, which a container
 * sandbox's mapped root (an unprivileged host uid) must reach.
 * A socket file left by a dead shedd is replaced; a live one is an error, not a takeover.
 */
export async function listenOnSocket(app: Api, socketPath: string, access: SocketAccess = { mode: 0o600 }): Promise<void> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o711 });
  await removeStaleSocket(socketPath);
  const previous = process.umask(0o177);
  try {
    await app.listen({ path: socketPath, backlog: SOCKET_BACKLOG });
  } finally {
    process.umask(previous);
  }
  if (access.gid !== undefined) await chown(socketPath, process.getuid?.() ?? 0, access.gid);
  await chmod(socketPath, access.mode);
}

async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) return;
  if (!st.isSocket()) throw new ShedError('failed_precondition', `${path} exists and is not a socket; move it away or pass --socket`);
  if (await answers(path)) throw new ShedError('failed_precondition', `another shedd is serving ${path}; stop it first`);
  await unlink(path);
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
