// Incremental frame decoder for a byte stream that arrives in arbitrary pieces.
import type { RawFrame } from './codec.js';
import { HEADER_BYTES, readHeader, type FrameHeader } from './header.js';

const EMPTY: Uint8Array = Buffer.alloc(0);

/**
 * Splits a byte stream into frames. The header is validated (length first) as soon as its
 * 12 bytes are in, before any payload is buffered, so at most 1 MiB is ever held for one
 * frame. After a ProtocolError the decoder stays failed: the stream cannot be resynchronised.
 */
export class FrameDecoder {
  readonly #header = new Uint8Array(HEADER_BYTES);
  #headerFill = 0;
  #current: FrameHeader | undefined;
  #payload: Uint8Array = EMPTY;
  #payloadFill = 0;
  /** Set once push threw: a ProtocolError, or whatever onFrame threw. */
  #failed: { readonly error: unknown } | undefined;

  /** Bytes held for a frame that is not complete yet. */
  get pendingBytes(): number {
    return this.#current === undefined ? this.#headerFill : HEADER_BYTES + this.#payloadFill;
  }

  /**
   * Feeds `chunk`, calling `onFrame` for each complete frame in order. Throws the
   * ProtocolError of the first invalid header (frames before it have been delivered).
   * Payloads may share memory with `chunk`. If `onFrame` throws, the decoder fails too,
   * since the rest of the chunk was not consumed.
   */
  push(chunk: Uint8Array, onFrame: (frame: RawFrame) => void): void {
    if (this.#failed !== undefined) throw this.#failed.error;
    try {
      let pos = 0;
      while (pos < chunk.byteLength) {
        pos = this.#current === undefined ? this.#takeHeader(chunk, pos, onFrame) : this.#takePayload(chunk, pos, onFrame);
      }
    } catch (error) {
      this.#failed = { error };
      throw error;
    }
  }

  #takeHeader(chunk: Uint8Array, pos: number, onFrame: (frame: RawFrame) => void): number {
    let header: FrameHeader;
    if (this.#headerFill === 0 && chunk.byteLength - pos >= HEADER_BYTES) {
      header = readHeader(chunk, pos);
      pos += HEADER_BYTES;
    } else {
      const n = Math.min(HEADER_BYTES - this.#headerFill, chunk.byteLength - pos);
      this.#header.set(chunk.subarray(pos, pos + n), this.#headerFill);
      this.#headerFill += n;
      pos += n;
      if (this.#headerFill < HEADER_BYTES) return pos;
      this.#headerFill = 0;
      header = readHeader(this.#header, 0);
    }
    const { type, stream, len } = header;
    if (chunk.byteLength - pos >= len) {
      // The whole payload is in this chunk: hand out a view instead of copying.
      onFrame({ type, stream, payload: len === 0 ? EMPTY : chunk.subarray(pos, pos + len) });
      return pos + len;
    }
    this.#current = header;
    this.#payload = Buffer.allocUnsafe(len); // filled completely before it is handed out
    this.#payloadFill = 0;
    return pos;
  }

  #takePayload(chunk: Uint8Array, pos: number, onFrame: (frame: RawFrame) => void): number {
    const cur = this.#current;
    if (cur === undefined) return pos;
    const n = Math.min(cur.len - this.#payloadFill, chunk.byteLength - pos);
    this.#payload.set(chunk.subarray(pos, pos + n), this.#payloadFill);
    this.#payloadFill += n;
    if (this.#payloadFill === cur.len) {
      const payload = this.#payload;
      this.#current = undefined;
      this.#payload = EMPTY;
      onFrame({ type: cur.type, stream: cur.stream, payload });
    }
    return pos + n;
  }
}
