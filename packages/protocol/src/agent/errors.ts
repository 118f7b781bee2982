/**
 * Every way a frame stream can break the rules of docs/protocol.md. The codes are stable:
 * tests, logs and the agent's `ERROR {EPROTO}` message text refer to them.
 */
export const PROTOCOL_ERROR_CODES = [
  /** Header `len` above 1 MiB. */
  'frame_too_large',
  /** Header `type` not in the message table. */
  'unknown_type',
  /** Header `flags` not 0. */
  'reserved_flags',
  /** A request on stream 0, or READY/HELLO on a non-zero stream. */
  'wrong_stream',
  /** A TLV field header or value runs past the payload end. */
  'field_overrun',
  /** A tag not in the global tag table. */
  'unknown_tag',
  /** A known tag that this message does not allow. */
  'tag_not_allowed',
  /** A non-repeatable tag given twice. */
  'repeated_tag',
  /** A value of the wrong size for its kind (including a `str` over 4096 bytes). */
  'bad_value_size',
  /** A NUL byte inside a `str` value. */
  'nul_in_string',
  /** A DATA payload shorter than its 8-byte offset. */
  'short_data',
  /** An EMPTY payload with a non-zero length. */
  'nonempty_payload',
  /** A required tag is absent (for a request, the agent answers EINVAL on its stream instead). */
  'missing_field',
  /** A valid frame that may not come now or from this side (e.g. a frame before READY). */
  'unexpected_message',
  /** A value the protocol allows in form but not in meaning (e.g. an offset going backwards). */
  'bad_value',
  /** READY announced a protocol version this host does not speak. */
  'unsupported_version',
  /** The peer reported a protocol error (`ERROR {EPROTO}` on stream 0). */
  'peer_error',
] as const;

export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

/** A violation of the frame protocol. The connection it happened on cannot continue. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  /** The stream of the offending frame, when known. */
  readonly stream: number | undefined;

  constructor(code: ProtocolErrorCode, message: string, opts: { stream?: number; cause?: unknown } = {}) {
    super(`${code}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.stream = opts.stream;
  }
}
