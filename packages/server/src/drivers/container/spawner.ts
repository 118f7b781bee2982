// The client of shed-spawn (packages/server/native): starts programs through a small helper
// process instead of Node's spawn, which forks the daemon's whole address space and blocks the
// event loop meanwhile (2 ms at 47 MB RSS, 5 ms at 240 MB, measured here). Used on create's
// critical path (the overlay mount and the runtime's `run`), whose output goes to a file.
import { spawn, type ChildProcess } from 'node:child_process';
import { ShedError } from '../../core/errors.js';

export interface SpawnResult {
  /** Exit status, or null when a signal ended the program. */
  readonly exitCode: number | null;
  readonly signal: number | null;
}

interface Pending {
  resolve(r: SpawnResult): void;
  reject(err: unknown): void;
}

const FORBIDDEN = /[\0\n]/;

export class Spawner {
  readonly path: string;
  #child: ChildProcess | undefined;
  readonly #pending = new Map<string, Pending>();
  #seq = 0;
  #buf = '';

  constructor(path: string) {
    this.path = path;
  }

  /** Runs argv with stdin /dev/null and stdout+stderr appended to `outPath`. */
  run(argv: readonly string[], outPath: string, signal?: AbortSignal): Promise<SpawnResult> {
    signal?.throwIfAborted();
    if (argv.length === 0 || [outPath, ...argv].some((a) => FORBIDDEN.test(a))) {
      return Promise.reject(new ShedError('internal', `cannot pass ${JSON.stringify(argv)} to shed-spawn: empty, or a NUL or newline in an argument`));
    }
    const child = this.#ensure();
    const id = String(++this.#seq);
    return new Promise<SpawnResult>((resolve, reject) => {
      const onAbort = (): void => void child.stdin?.write(`K\0${id}\0\n`);
      this.#pending.set(id, {
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#refWhileBusy(child);
      child.stdin?.write(['R', id, outPath, ...argv].join('\0') + '\0\n');
    });
  }

  #ensure(): ChildProcess {
    if (this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null) return this.#child;
    // The one spawn through Node; every later program starts from the helper.
    const child = spawn(this.path, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => this.#onData(d));
    child.once('error', (err) => this.#failAll(err));
    child.once('close', () => this.#failAll(new ShedError('internal', `${this.path} exited`)));
    this.#child = child;
    return child;
  }

  #onData(d: string): void {
    this.#buf += d;
    for (let nl = this.#buf.indexOf('\n'); nl >= 0; nl = this.#buf.indexOf('\n')) {
      const [id = '', what, n] = this.#buf.slice(0, nl).split(' ');
      this.#buf = this.#buf.slice(nl + 1);
      const p = this.#pending.get(id);
      this.#pending.delete(id);
      const code = Number(n);
      if (what === 'exit') p?.resolve({ exitCode: code, signal: null });
      else if (what === 'signal') p?.resolve({ exitCode: null, signal: code });
      else p?.reject(new ShedError('unavailable', `shed-spawn could not start the program (errno ${code})`));
    }
    if (this.#child !== undefined) this.#refWhileBusy(this.#child);
  }

  #failAll(err: unknown): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#child = undefined;
  }

  // The helper must not keep an idle daemon (or a finished test) alive.
  #refWhileBusy(child: ChildProcess): void {
    const busy = this.#pending.size > 0;
    for (const s of [child.stdout, child.stdin] as const) {
      // Pipes to a child are net.Sockets, which have ref/unref.
      const sock = s as unknown as { ref?(): void; unref?(): void } | null;
      if (busy) sock?.ref?.();
      else sock?.unref?.();
    }
    if (busy) child.ref();
    else child.unref();
  }
}

const shared = new Map<string, Spawner>();

/** One helper per binary per process: drivers made in the same process share it. */
export function sharedSpawner(path: string): Spawner {
  let s = shared.get(path);
  if (s === undefined) shared.set(path, (s = new Spawner(path)));
  return s;
}
