/**
 * A queue of output chunks for one async iterator. `limitBytes` bounds what is held: a
 * reader that iterates gets backpressure (the source awaits `room()`); a
 * stream nobody reads drops its oldest bytes instead, so an unread stderr can never stall
 * stdout or grow without bound.
 */
export class ByteQueue implements AsyncIterable<Buffer> {
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  #ended = false;
  #error: unknown;
  #claimed = false;
  #discard = false;
  #wake: (() => void) | undefined;
  readonly #limitBytes: number;
  #drained: (() => void) | undefined;

  constructor(limitBytes: number) {
    this.#limitBytes = limitBytes;
  }

  /** Resolves when the reader has caught up (at once unless a reader is behind). */
  room(): Promise<void> {
    if (!this.#claimed || this.#discard || this.#bytes < this.#limitBytes) return Promise.resolve();
    return new Promise((resolve) => (this.#drained = resolve));
  }

  get claimed(): boolean {
    return this.#claimed;
  }

  push(chunk: Buffer): void {
    if (this.#discard) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.byteLength;
    while (!this.#claimed && this.#bytes > this.#limitBytes && this.#chunks.length > 1) {
      this.#bytes -= this.#chunks.shift()?.byteLength ?? 0;
    }
    this.#wake?.();
  }

  end(err?: unknown): void {
    this.#ended = true;
    this.#error = err;
    this.#wake?.();
  }

  /** Nobody will read: drop what is held and what comes. */
  discard(): void {
    if (this.#claimed) return;
    this.#discard = true;
    this.#chunks.length = 0;
    this.#bytes = 0;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    this.#claimed = true;
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) {
        this.#bytes -= chunk.byteLength;
        if (this.#bytes < this.#limitBytes) this.#drained?.();
        yield chunk;
        continue;
      }
      if (this.#ended) {
        if (this.#error !== undefined) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}
