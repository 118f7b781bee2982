// The host end of a sandbox's agent connection: a unix socket in a host-owned directory that
// is bound read-only into the sandbox. The agent connects out and pushes READY; that push is
// the readiness signal (no polling).
import { chmod, chown, mkdir } from 'node:fs/promises';
import { AgentListener, type AgentClient } from '@shed/protocol';
import type { IdMap } from '../../core/driver.js';
import { ShedError } from '../../core/errors.js';

/**
 * Listens on `socketPath` (replacing a stale socket left by a previous daemon) and hands the
 * socket file to the sandbox's mapped root: connect(2) needs write permission on it, and the
 * agent is an unprivileged uid on the host.
 */
export async function listenForAgent(socketDir: string, socketPath: string, idMap: IdMap): Promise<AgentListener> {
  await mkdir(socketDir, { recursive: true, mode: 0o755 });
  const listener = await AgentListener.listen(socketPath);
  try {
    await chown(socketPath, idMap.hostId, idMap.hostId);
    await chmod(socketPath, 0o600);
  } catch (err) {
    await listener.close();
    throw err;
  }
  return listener;
}

/** Waits for the agent's READY on `listener`, at most `timeoutMs`, or until `signal` aborts. */
export async function awaitAgent(listener: AgentListener, timeoutMs: number, signal?: AbortSignal): Promise<AgentClient> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  try {
    return await listener.accept({ signal: combined });
  } catch (err) {
    if (signal?.aborted === true) throw signal.reason;
    if (timeout.aborted) {
      throw new ShedError('unavailable', `the sandbox agent did not connect to ${listener.path} within ${timeoutMs} ms; see the sandbox log next to it`, { cause: err });
    }
    throw err;
  }
}
