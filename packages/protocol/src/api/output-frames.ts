// The body of GET …/processes/{procId}/output: a stream of records, so one chunked HTTP
// response carries stdout, stderr and the exit status in the order the agent saw them.
//
//   u8 kind | u32 length (big-endian) | u64 offset (big-endian) | length bytes
//
// kind 1 stdout, 2 stderr: `offset` is the record's place in the process's output sequence
// (resume with ?offset=). kind 3 exit and 4 error: `offset` is the end of the output, and
// the payload is JSON (ProcessExit, ErrorBody). Exit or error is always the last record.

export const OUTPUT_CONTENT_TYPE = 'application/vnd.shed.output';
export const OUTPUT_HEADER_BYTES = 13;
/** A record larger than this is a broken stream, not a big chunk (agent frames are ≤ 1 MiB). */
export const OUTPUT_MAX_RECORD_BYTES = 1_048_576;

export type OutputRecordKind = 'stdout' | 'stderr' | 'exit' | 'error';
const KIND_BYTES: Record<OutputRecordKind, number> = { stdout: 1, stderr: 2, exit: 3, error: 4 };
const BYTE_KINDS: readonly (OutputRecordKind | undefined)[] = [undefined, 'stdout', 'stderr', 'exit', 'error'];

export interface OutputRecord {
  readonly kind: OutputRecordKind;
  readonly offset: number;
  readonly data: Buffer;
}

export function encodeOutputRecord(kind: OutputRecordKind, offset: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(OUTPUT_HEADER_BYTES + data.byteLength);
  out.writeUInt8(KIND_BYTES[kind], 0);
  out.writeUInt32BE(data.byteLength, 1);
  out.writeBigUInt64BE(BigInt(offset), 5);
  out.set(data, OUTPUT_HEADER_BYTES);
  return out;
}

/** Thrown by the decoder on bytes that cannot be an output stream. */
export class OutputStreamError extends Error {
  override readonly name = 'OutputStreamError';
}

/** Incremental decoder: push bytes as they arrive, get whole records back. */
export class OutputRecordDecoder {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): OutputRecord[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const records: OutputRecord[] = [];
    while (this.#pending.length >= OUTPUT_HEADER_BYTES) {
      const kind = BYTE_KINDS[this.#pending.readUInt8(0)];
      const length = this.#pending.readUInt32BE(1);
      if (kind === undefined) throw new OutputStreamError(`unknown output record kind ${this.#pending.readUInt8(0)}`);
      if (length > OUTPUT_MAX_RECORD_BYTES) throw new OutputStreamError(`output record of ${length} bytes exceeds the maximum`);
      if (this.#pending.length < OUTPUT_HEADER_BYTES + length) break;
      const offset = Number(this.#pending.readBigUInt64BE(5));
      records.push({ kind, offset, data: this.#pending.subarray(OUTPUT_HEADER_BYTES, OUTPUT_HEADER_BYTES + length) });
      this.#pending = this.#pending.subarray(OUTPUT_HEADER_BYTES + length);
    }
    return records;
  }

  /** Bytes of an incomplete record still held (non-zero at the end means a cut stream). */
  get pendingBytes(): number {
    return this.#pending.length;
  }
}
