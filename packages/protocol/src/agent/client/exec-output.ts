// Where a process's output goes on the host: an async iterable of chunks, or two Node
// Readables. Either way CREDIT follows what the consumer has taken, not what arrived.
import { Readable } from 'node:stream';
import { AgentError } from './agent-error.js';
import { Inbound, type CreditGate } from './inbound.js';

/** One piece of a process's output. `offset` is its position in the output sequence. */
export interface OutputChunk {
  readonly fd: 1 | 2;
  readonly data: Buffer;
  readonly offset: number;
}

interface Streams {
  readonly stdout: Readable;
  readonly stderr: Readable;
}

const READABLE_HIGH_WATER_BYTES = 64 * 1024;

export class ExecOutput {
  readonly #gate: CreditGate;
  readonly #queue: Inbound<OutputChunk>;
  #streams: Streams | undefined;
  #iterated = false;
  /** Offset just past the last chunk handed to a Readable. */
  #pushedEnd = 0;
  #ended: { readonly err: AgentError | undefined } | undefined;

  constructor(gate: CreditGate) {
    this.#gate = gate;
    this.#queue = new Inbound(gate);
  }

  deliver(chunk: OutputChunk, end: number): void {
    if (this.#streams === undefined) this.#queue.push(chunk, end);
    else this.#toStream(this.#streams, chunk, end);
  }

  /** No more output; `err` when the stream broke rather than ended. */
  finish(err?: AgentError): void {
    if (this.#ended !== undefined) return;
    this.#ended = { err };
    if (err === undefined) this.#queue.end();
    else this.#queue.fail(err);
    if (this.#streams !== undefined) this.#endStreams(this.#streams, err);
  }

  iterable(): AsyncIterable<OutputChunk> {
    if (this.#streams !== undefined) throw inUse('stdout/stderr streams');
    this.#iterated = true;
    return this.#queue;
  }

  streams(): Streams {
    if (this.#streams !== undefined) return this.#streams;
    if (this.#iterated) throw inUse('async iterator');
    const consumed = (): void => this.#creditStreams();
    const s: Streams = { stdout: new DrainingReadable(consumed), stderr: new DrainingReadable(consumed) };
    this.#streams = s;
    for (const { item, end } of this.#queue.drain()) this.#toStream(s, item, end);
    if (this.#ended !== undefined) this.#endStreams(s, this.#ended.err);
    return s;
  }

  #toStream(s: Streams, chunk: OutputChunk, end: number): void {
    const r = chunk.fd === 1 ? s.stdout : s.stderr;
    if (!r.destroyed) r.push(chunk.data);
    this.#pushedEnd = end;
    this.#creditStreams();
  }

  // Two Readables drain in any order, so what is acknowledged is a byte count (everything
  // pushed minus what still sits in either buffer) rather than a strict prefix. It bounds
  // host memory the same way; only a reattach after a disconnect could replay bytes that
  // were buffered here, and those were lost with the connection anyway.
  #creditStreams(): void {
    const s = this.#streams;
    if (s === undefined) return;
    const held = buffered(s.stdout) + buffered(s.stderr);
    this.#gate.consumed(this.#pushedEnd - held);
  }

  #endStreams(s: Streams, err: AgentError | undefined): void {
    for (const r of [s.stdout, s.stderr]) {
      // An 'error' event with no listener would crash the process; a caller who only awaits
      // wait() learns of the failure there.
      if (err !== undefined && r.listenerCount('error') > 0) r.destroy(err);
      else r.push(null);
    }
  }
}

/**
 * A Readable that reports every read. Every way of consuming a Readable (flowing mode,
 * read(), async iteration, pipe) goes through read(); _read is not enough, since Node
 * stops calling it after a _read that pushed nothing.
 */
class DrainingReadable extends Readable {
  readonly #onRead: () => void;

  constructor(onRead: () => void) {
    super({ highWaterMark: READABLE_HIGH_WATER_BYTES });
    this.#onRead = onRead;
  }

  override _read(): void {
    // Data is pushed as it arrives from the agent; nothing to fetch on demand.
  }

  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    this.#onRead();
    return chunk;
  }
}

function buffered(r: Readable): number {
  return r.destroyed ? 0 : r.readableLength;
}

function inUse(current: string): AgentError {
  return new AgentError('failed_precondition', `this process's output is already read through the ${current}; read it one way only`);
}
