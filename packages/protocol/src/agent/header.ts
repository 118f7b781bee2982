// The fixed 12-byte frame header of docs/protocol.md ("Frames"): u32 len, u16 type,
// u16 flags, u32 stream, little-endian.
import { ProtocolError } from './errors.js';
import { MESSAGE_BY_CODE, MESSAGES, type MessageName } from './messages.js';

export const HEADER_BYTES = 12;
/** Largest payload a frame may carry, checked before any payload byte is read. */
export const MAX_PAYLOAD_BYTES = 1_048_576;
/** The protocol version this codec speaks. */
export const PROTOCOL_VERSION = 1;

export interface FrameHeader {
  readonly type: MessageName;
  readonly stream: number;
  /** Payload length in bytes. */
  readonly len: number;
}

/** Writes a header for `type` at `at` in `buf`. */
export function writeHeader(buf: Uint8Array, at: number, type: MessageName, stream: number, len: number): void {
  if (len > MAX_PAYLOAD_BYTES) {
    throw new ProtocolError('frame_too_large', `payload of ${len} bytes exceeds ${MAX_PAYLOAD_BYTES}`, { stream });
  }
  const view = new DataView(buf.buffer, buf.byteOffset + at, HEADER_BYTES);
  view.setUint32(0, len, true);
  view.setUint16(4, MESSAGES[type].code, true);
  view.setUint16(6, 0, true);
  view.setUint32(8, stream, true);
}

/**
 * Reads and validates the header at `at` (the caller guarantees 12 bytes). The length is
 * checked first so a hostile `len` is refused before anything is allocated for it.
 */
export function readHeader(buf: Uint8Array, at: number): FrameHeader {
  const view = new DataView(buf.buffer, buf.byteOffset + at, HEADER_BYTES);
  const len = view.getUint32(0, true);
  const code = view.getUint16(4, true);
  const flags = view.getUint16(6, true);
  const stream = view.getUint32(8, true);
  if (len > MAX_PAYLOAD_BYTES) {
    throw new ProtocolError('frame_too_large', `len ${len} exceeds ${MAX_PAYLOAD_BYTES}`, { stream });
  }
  const type = MESSAGE_BY_CODE.get(code);
  if (type === undefined) {
    throw new ProtocolError('unknown_type', `type 0x${code.toString(16)}`, { stream });
  }
  if (flags !== 0) throw new ProtocolError('reserved_flags', `flags 0x${flags.toString(16)} on ${type}`, { stream });
  checkStream(type, stream);
  return { type, stream, len };
}

function checkStream(type: MessageName, stream: number): void {
  const rule = MESSAGES[type].stream;
  if (rule === 'zero' && stream !== 0) {
    throw new ProtocolError('wrong_stream', `${type} on stream ${stream}; it belongs on stream 0`, { stream });
  }
  if (rule === 'nonzero' && stream === 0) {
    throw new ProtocolError('wrong_stream', `${type} is a request and may not use stream 0`, { stream });
  }
}
