import type { AgentExit, AgentOutputChunk, AgentProcess } from './agent-port.js';
import { fromAgentError } from './agent-errors.js';
import type { ShedError } from './errors.js';

export type ProcessEvent =
  | { readonly kind: 'stdout' | 'stderr'; readonly offset: number; readonly data: Buffer }
  | { readonly kind: 'exit'; readonly offset: number; readonly exit: AgentExit };

export type OutputEnd = { readonly exit: AgentExit } | { readonly error: ShedError };

/**
 * Moves one process's output from its agent stream to whoever reads it now. A single pump
 * reads the agent stream and hands chunks over through a one-chunk slot, so readers can come
 * and go (an HTTP client reconnecting) without two of them ever pulling from the stream and
 * without reordering. The pump pulls only when the slot is empty: an absent reader stops
 * credit to the agent, and the process blocks on a full buffer instead of host memory
 * growing. In drain mode (someone waits for the exit and nobody reads) chunks are dropped.
 */
export class ProcessOutput {
  #slot: AgentOutputChunk | undefined;
  #end: OutputEnd | undefined;
  #generation = 0;
  #draining = false;
  readonly #readers = new Set<() => void>();
  readonly #endWaiters = new Set<(end: OutputEnd) => void>();
  #wakePump: (() => void) | undefined;
  /** Offset just past the last byte handed to a reader (or dropped). */
  #position: number;

  constructor(proc: AgentProcess, startOffset: number) {
    this.#position = startOffset;
    this.#pump(proc, this.#generation);
  }

  get position(): number {
    return this.#position;
  }

  get ended(): OutputEnd | undefined {
    return this.#end;
  }

  /** Switches to a new agent stream (after an attach); the old stream's pump stops. */
  replace(proc: AgentProcess, startOffset: number): void {
    this.#generation++;
    this.#slot = undefined;
    this.#end = undefined;
    this.#position = startOffset;
    this.#wakePump?.();
    this.#pump(proc, this.#generation);
  }

  /** Drop output nobody reads, so the process can run to its exit. */
  drain(on: boolean): void {
    this.#draining = on;
    if (on) this.#take();
  }

  /** The next event for a reader: output, then exactly one exit (or a thrown ShedError). */
  async next(signal?: AbortSignal): Promise<ProcessEvent> {
    while (this.#slot === undefined && this.#end === undefined) {
      signal?.throwIfAborted();
      await this.#waitForData(signal);
    }
    const chunk = this.#take();
    if (chunk !== undefined) return { kind: chunk.fd === 1 ? 'stdout' : 'stderr', offset: chunk.offset, data: chunk.data };
    const end = this.#end;
    if (end === undefined || 'error' in end) throw end?.error;
    return { kind: 'exit', offset: this.#position, exit: end.exit };
  }

  #waitForData(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        this.#readers.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.#readers.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  #wakeReaders(): void {
    for (const wake of [...this.#readers]) wake();
  }

  #take(): AgentOutputChunk | undefined {
    const chunk = this.#slot;
    if (chunk === undefined) return undefined;
    this.#slot = undefined;
    this.#position = chunk.offset + chunk.data.byteLength;
    this.#wakePump?.();
    return chunk;
  }

  #pump(proc: AgentProcess, generation: number): void {
    const current = (): boolean => generation === this.#generation;
    void (async () => {
      try {
        for await (const chunk of proc.output) {
          if (!current()) return;
          while (this.#slot !== undefined && current()) await new Promise<void>((r) => (this.#wakePump = r));
          if (!current()) return;
          this.#slot = chunk;
          if (this.#draining) this.#take();
          this.#wakeReaders();
        }
        const exit = await proc.wait();
        if (current()) this.#finish({ exit });
      } catch (err) {
        if (current()) this.#finish({ error: fromAgentError(err, 'process output') });
      }
    })();
  }

  /** Resolves when the stream ended: the process exited (all output delivered) or the stream broke. */
  whenEnded(): Promise<OutputEnd> {
    if (this.#end !== undefined) return Promise.resolve(this.#end);
    return new Promise((resolve) => this.#endWaiters.add(resolve));
  }

  /** A chunk still in the slot is read before the end is reported. */
  #finish(end: OutputEnd): void {
    this.#end = end;
    this.#wakeReaders();
    for (const w of this.#endWaiters) w(end);
    this.#endWaiters.clear();
  }
}
