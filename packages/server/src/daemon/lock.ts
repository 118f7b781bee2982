import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { ShedError } from '../core/errors.js';

/**
 * One shedd per data dir and per run dir: two would reconcile and sweep each other's
 * sandboxes. The lock is an abstract unix socket named after the directory's real path:
 * the kernel releases it when the process dies, even by SIGKILL, so a crash never leaves a
 * stale lock behind (a lock file would). Held until the process exits.
 */
export async function lockDirs(dirs: readonly string[]): Promise<Server[]> {
  const held: Server[] = [];
  try {
    for (const dir of dirs) held.push(await lockOne(await realpath(dir)));
    return held;
  } catch (err) {
    for (const s of held) s.close();
    throw err;
  }
}

function lockOne(dir: string): Promise<Server> {
  const name = `\0shed-lock-${createHash('sha256').update(dir).digest('hex').slice(0, 32)}`;
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') return reject(err);
      reject(new ShedError('failed_precondition', `another shedd is using ${dir}; stop it first, or give this one other directories (--data-dir, --run-dir)`, {
        details: { dir },
      }));
    });
    // Nothing ever connects: the bound name is the lock. unref: it must not keep shedd alive.
    server.listen({ path: name }, () => resolve(server.unref()));
  });
}
