// Host→agent flow control (docs/protocol.md "Offsets and flow control"): at most `window`
// bytes of STDIN/WDATA sent and not yet acknowledged by the agent's CREDIT.
import { ProtocolError } from '../errors.js';

export class SendWindow {
  readonly #sizeBytes: number;
  #sent = 0;
  #acked = 0;
  #wake: (() => void) | undefined;
  /** Makes the error claims throw once the stream ended; lazy, since most never need it. */
  #failure: (() => unknown) | undefined;

  /** `sizeBytes` = Infinity when the agent does not do flow control. */
  constructor(sizeBytes: number) {
    this.#sizeBytes = sizeBytes;
  }

  /** Bytes sent so far. */
  get sentBytes(): number {
    return this.#sent;
  }

  /**
   * Waits until some window is free, then claims up to `maxBytes` of it and returns how
   * many bytes the caller may send now. One caller at a time (writes are serialised).
   */
  async claim(maxBytes: number, signal?: AbortSignal): Promise<number> {
    while (this.#free() === 0) {
      if (this.#failure !== undefined) throw this.#failure();
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        signal?.addEventListener('abort', this.#onAbort, { once: true });
      });
      signal?.removeEventListener('abort', this.#onAbort);
      this.#wake = undefined;
    }
    if (this.#failure !== undefined) throw this.#failure();
    const n = Math.min(maxBytes, this.#free());
    this.#sent += n;
    return n;
  }

  #onAbort = (): void => this.#wake?.();

  /** The agent's CREDIT: everything before `offset` has been written. */
  credit(offset: number, stream: number): void {
    if (offset > this.#sent) {
      throw new ProtocolError('bad_value', `CREDIT ${offset} is beyond the ${this.#sent} bytes sent`, { stream });
    }
    if (offset > this.#acked) this.#acked = offset;
    this.#wake?.();
  }

  /** Makes every current and later claim throw the error `failure` makes. */
  fail(failure: () => unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = failure;
    this.#wake?.();
  }

  #free(): number {
    return Math.max(0, this.#sizeBytes - (this.#sent - this.#acked));
  }
}

/** Largest STDIN/WDATA frame: big enough for throughput, small enough to interleave streams. */
const MAX_INPUT_FRAME_BYTES = 256 * 1024;

/** Sends `data` in pieces through `send`, never exceeding the window. */
export async function sendWindowed(
  data: Uint8Array,
  window: SendWindow,
  send: (chunk: Uint8Array) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let pos = 0;
  while (pos < data.byteLength) {
    const n = await window.claim(Math.min(data.byteLength - pos, MAX_INPUT_FRAME_BYTES), signal);
    await send(data.subarray(pos, pos + n));
    pos += n;
  }
}
