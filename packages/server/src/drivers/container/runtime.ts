// One OCI runtime (crun, runc or runsc) bound to one state root. Each call is one process
// spawn; the runtime does the namespace, mount and cgroup work (it is the audited part).
import { statSync } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { runCommand, CommandError } from './command.js';
import type { Spawner } from './spawner.js';

export const RUNTIME_NAMES = ['crun', 'runc', 'runsc'] as const;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

export const isRuntimeName = (v: unknown): v is RuntimeName => (RUNTIME_NAMES as readonly unknown[]).includes(v);

export interface StartOptions {
  signal?: AbortSignal;
  /** The container's stdout/stderr (and the runtime's own messages): a file in the run dir. */
  logPath: string;
  /** Start the runtime through shed-spawn (faster than Node's spawn) when given. */
  spawner?: Spawner;
}

export class OciRuntime {
  constructor(
    readonly name: RuntimeName,
    /** Absolute path of the runtime binary. */
    readonly path: string,
    /** The runtime's `--root`: its state directory, one per daemon run dir. */
    readonly root: string,
  ) {}

  #cmd(args: readonly string[], signal?: AbortSignal): Promise<unknown> {
    return runCommand(this.path, ['--root', this.root, ...args], { signal });
  }

  /**
   * `run --detach`: create and start in one spawn (measured faster here than create + start:
   * one process instead of two). The container inherits the log file as stdout and stderr;
   * a pipe would keep this call waiting for as long as the agent lives.
   */
  async start(id: string, bundle: string, pidFile: string, opts: StartOptions): Promise<void> {
    const args = ['--root', this.root, 'run', '--detach', '--bundle', bundle, '--pid-file', pidFile, id];
    await runLogged(this.path, args, opts.logPath, opts.signal, opts.spawner);
  }

  pause(id: string): Promise<unknown> {
    return this.#cmd(['pause', id]);
  }

  resume(id: string): Promise<unknown> {
    return this.#cmd(['resume', id]);
  }

  /**
   * Kills every process (SIGKILL) and removes the runtime's state and cgroups; a missing
   * container is fine. With a spawner and a log file, runs through shed-spawn (no fork of
   * the daemon).
   */
  async delete(id: string, via?: { spawner: Spawner; logPath: string }): Promise<void> {
    if (via === undefined) return void (await this.#cmd(['delete', '--force', id]));
    await runLogged(this.path, ['--root', this.root, 'delete', '--force', id], via.logPath, undefined, via.spawner);
  }

  /** Container ids the runtime has state for under this root (its state dirs are named by id). */
  async list(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  }

  async has(id: string): Promise<boolean> {
    return (await stat(`${this.root}/${id}`).catch(() => null)) !== null;
  }
}

/**
 * Runs a runtime command whose container process inherits stdio: the output goes to
 * `logPath`, since a pipe would stay open (and this call waiting) for as long as the
 * container lives. On failure the runtime's own words are read back from the log.
 */
export async function runLogged(file: string, args: readonly string[], logPath: string, signal?: AbortSignal, spawner?: Spawner): Promise<void> {
  if (spawner !== undefined) return runLoggedVia(spawner, file, args, logPath, signal);
  const log = await open(logPath, 'a');
  const before = (await log.stat()).size;
  try {
    await runCommand(file, args, { signal, outputFd: log.fd, errorCode: 'unavailable' });
  } catch (err) {
    throw await withLogTail(err, logPath, before);
  } finally {
    await log.close();
  }
}

async function runLoggedVia(spawner: Spawner, file: string, args: readonly string[], logPath: string, signal?: AbortSignal): Promise<void> {
  const before = statSync(logPath, { throwIfNoEntry: false })?.size ?? 0;
  const r = await spawner.run([file, ...args], logPath, signal);
  if (r.exitCode === 0) return;
  const why = r.signal !== null ? `was killed by signal ${r.signal}` : `exited with ${r.exitCode}`;
  throw await withLogTail(new CommandError('unavailable', `${file} ${args.join(' ')} ${why}`, r.exitCode, ''), logPath, before);
}

// The runtime wrote its complaint into the log file we gave it as stderr: quote it.
async function withLogTail(err: unknown, logPath: string, from: number): Promise<unknown> {
  if (!(err instanceof CommandError)) return err;
  const fh = await open(logPath, 'r').catch(() => null);
  if (fh === null) return err;
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, from);
    const said = buf.subarray(0, bytesRead).toString('utf8').trim();
    return new CommandError(err.code, said === '' ? err.message : `${err.message}: ${said}`, err.exitCode, said, err);
  } finally {
    await fh.close();
  }
}
