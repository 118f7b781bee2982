import type { AgentExit, AgentPort, AgentProcess, AgentStarted, TerminalSize } from './agent-port.js';
import { ShedError } from './errors.js';
import { viaAgent } from './agent-errors.js';
import { ProcessOutput, type ProcessEvent } from './process-output.js';

export interface ReadOutputOptions {
  /** Resume from this output offset; earlier bytes are replayed from the agent's buffer. @default where the last reader stopped */
  offset?: number;
  signal?: AbortSignal;
}

/**
 * A process started with `spawn`: its output for one reader at a time, its stdin, signals
 * and exit. A newer reader takes over from an older one (a client reconnecting); a reader
 * that asks for an offset already passed gets it replayed through the agent's ATTACH.
 */
export class SpawnedProcess {
  readonly procId: number;
  readonly pid: number;
  readonly argv: readonly string[];
  /** Runs on a pseudo-terminal (resizable; stdout and stderr merged); undefined when not known (adopted after a restart). */
  readonly pty: boolean | undefined;
  /** Has an input to write to (a stdin pipe or a terminal); undefined when not known (adopted). */
  readonly stdin: boolean | undefined;
  readonly #agent: AgentPort;
  #proc: AgentProcess;
  readonly #output: ProcessOutput;
  #readerGeneration = 0;
  #activeReaders = 0;
  #waiters = 0;
  #supersede: AbortController | undefined;

  constructor(agent: AgentPort, proc: AgentProcess, started: AgentStarted, argv: readonly string[], opts: { pty?: boolean | undefined; stdin?: boolean | undefined } = {}) {
    this.#agent = agent;
    this.pty = opts.pty;
    this.stdin = opts.stdin;
    this.#proc = proc;
    this.procId = started.procId;
    this.pid = started.pid;
    this.argv = argv;
    this.#output = new ProcessOutput(proc, started.offset);
  }

  /** Offset just past the output the last reader took: where a reader that names no offset starts. */
  get outputOffset(): number {
    return this.#output.position;
  }

  get exited(): boolean {
    const end = this.#output.ended;
    return end !== undefined && 'exit' in end;
  }

  async *output(opts: ReadOutputOptions = {}): AsyncGenerator<ProcessEvent> {
    const generation = ++this.#readerGeneration;
    // The reader being replaced may be waiting for output that will not come (a shell
    // waiting for input): wake it so it ends now.
    this.#supersede?.abort();
    const mine = new AbortController();
    this.#supersede = mine;
    const signal = opts.signal === undefined ? mine.signal : AbortSignal.any([opts.signal, mine.signal]);
    this.#activeReaders++;
    this.#output.drain(false);
    let expect = opts.offset ?? this.#output.position;
    try {
      if (expect < this.#output.position) this.#reattach(expect);
      while (generation === this.#readerGeneration) {
        const ev = await this.#output.next(signal).catch((err: unknown) => {
          if (mine.signal.aborted) return undefined;
          throw err;
        });
        if (ev === undefined || generation !== this.#readerGeneration) return;
        if (ev.kind === 'exit') {
          yield ev;
          return;
        }
        // A reader we superseded took these bytes; fetch them again from the agent's buffer.
        if (ev.offset > expect) {
          this.#reattach(expect);
          continue;
        }
        const end = ev.offset + ev.data.byteLength;
        if (end <= expect) continue;
        yield ev.offset < expect ? { ...ev, offset: expect, data: ev.data.subarray(expect - ev.offset) } : ev;
        expect = end;
      }
    } finally {
      this.#activeReaders--;
      if (this.#activeReaders === 0 && this.#waiters > 0) this.#output.drain(true);
    }
  }

  write(data: Uint8Array, signal?: AbortSignal): Promise<void> {
    this.#checkStdin();
    return viaAgent(`write to the stdin of process ${this.procId}`, () => this.#proc.write(data, { signal }));
  }

  endStdin(): Promise<void> {
    this.#checkStdin();
    return viaAgent(`close the stdin of process ${this.procId}`, () => this.#proc.end());
  }

  // The agent drops input for a process without a pipe; saying so beats a write that vanishes.
  #checkStdin(): void {
    if (this.stdin === false) {
      throw new ShedError('failed_precondition', `process ${this.procId} has no stdin; spawn it with stdin: true to write to it`, {
        details: { procId: this.procId },
      });
    }
  }

  kill(signal: NodeJS.Signals | number): Promise<void> {
    return viaAgent(`signal process ${this.procId}`, async () => this.#proc.signal(signal));
  }

  /** Resizes the process's terminal; a process without one is `failed_precondition`. */
  resize(size: TerminalSize): void {
    if (this.pty === false) throw new ShedError('failed_precondition', `process ${this.procId} has no terminal to resize; start it with a pty (the shell route)`);
    if (!this.exited) this.#proc.resize(size);
  }

  /** Resolves with the exit. Output nobody is reading is dropped meanwhile, so the process cannot block on it. */
  async wait(signal?: AbortSignal): Promise<AgentExit> {
    this.#waiters++;
    if (this.#activeReaders === 0) this.#output.drain(true);
    try {
      const end = await abortable(this.#output.whenEnded(), signal);
      if ('error' in end) throw end.error;
      return end.exit;
    } finally {
      this.#waiters--;
    }
  }

  /** Stops following the process (the sandbox is stopping); it is not killed. */
  detach(): void {
    this.#readerGeneration++;
    this.#proc.detach();
  }

  #reattach(offset: number): void {
    this.#proc = this.#agent.attach(this.procId, { offset });
    this.#output.replace(this.#proc, offset);
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
