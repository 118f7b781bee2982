// Typed message objects and their frames. A Message is what the client and tests handle;
// encodeMessage/decodeMessage convert it to and from one frame (header + payload).
import { ProtocolError } from './errors.js';
import { HEADER_BYTES, writeHeader } from './header.js';
import { ENTRY_KINDS, MESSAGES, type EntryFields, type EntryKind, type MessageFields, type MessageName } from './messages.js';
import { decodeFields, encodeFields } from './tlv.js';

/** A frame whose header passed validation; its payload is not yet checked. */
export interface RawFrame {
  readonly type: MessageName;
  readonly stream: number;
  readonly payload: Uint8Array;
}

type PayloadOf<M extends MessageName> = (typeof MESSAGES)[M]['payload'];
type Body<M extends MessageName> = PayloadOf<M> extends 'tlv'
  ? { readonly fields: MessageFields<M> }
  : PayloadOf<M> extends 'data'
    ? { readonly offset: bigint; readonly data: Uint8Array }
    : PayloadOf<M> extends 'raw'
      ? { readonly data: Uint8Array }
      : unknown;

/** One message of docs/protocol.md, discriminated by `type`. */
export type Message = { [M in MessageName]: { readonly type: M; readonly stream: number } & Body<M> }[MessageName];
/** The message object for one type. */
export type MessageOf<M extends MessageName> = Extract<Message, { readonly type: M }>;

const DATA_OFFSET_BYTES = 8;

/** Encodes one message as a complete frame. Invalid field values throw a ProtocolError. */
export function encodeMessage(msg: Message): Buffer {
  const spec = MESSAGES[msg.type];
  if ('fields' in msg) return frame(msg.type, msg.stream, encodeFields(spec, msg.fields, msg.type));
  if ('offset' in msg) {
    const out = Buffer.allocUnsafe(HEADER_BYTES + DATA_OFFSET_BYTES + msg.data.byteLength);
    writeHeader(out, 0, msg.type, msg.stream, DATA_OFFSET_BYTES + msg.data.byteLength);
    out.writeBigUInt64LE(msg.offset, HEADER_BYTES);
    out.set(msg.data, HEADER_BYTES + DATA_OFFSET_BYTES);
    return out;
  }
  if ('data' in msg) return frame(msg.type, msg.stream, msg.data);
  return frame(msg.type, msg.stream, new Uint8Array(0));
}

function frame(type: MessageName, stream: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.byteLength);
  writeHeader(out, 0, type, stream, payload.byteLength);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** Validates a frame's payload against its type and returns the typed message. */
export function decodeMessage(f: RawFrame): Message {
  const spec = MESSAGES[f.type];
  const { type, stream, payload } = f;
  switch (spec.payload) {
    case 'tlv':
      return typed({ type, stream, fields: decodeFields(spec, payload, type, stream) });
    case 'data': {
      if (payload.byteLength < DATA_OFFSET_BYTES) {
        throw new ProtocolError('short_data', `${type} payload of ${payload.byteLength} bytes lacks its offset`, { stream });
      }
      const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      return typed({ type, stream, offset: view.getBigUint64(0, true), data: payload.subarray(DATA_OFFSET_BYTES) });
    }
    case 'raw':
      return typed({ type, stream, data: payload });
    case 'empty':
      if (payload.byteLength !== 0) {
        throw new ProtocolError('nonempty_payload', `${type} must be empty but has ${payload.byteLength} bytes`, { stream });
      }
      return typed({ type, stream });
  }
}

function typed(m: { readonly type: MessageName; readonly stream: number; readonly [k: string]: unknown }): Message {
  // The payload was validated against MESSAGES[m.type], the row Message<type> is derived
  // from, so the object has exactly the shape of its variant.
  return m as Message;
}

/** Decodes one nested `entry` value (a PS process or a LIST directory entry). */
export function decodeEntry<K extends EntryKind>(kind: K, bytes: Uint8Array, stream = 0): EntryFields<K> {
  // decodeFields checked every tag against ENTRY_KINDS[kind], the row EntryFields<K> is derived from.
  return decodeFields(ENTRY_KINDS[kind], bytes, `${kind} entry`, stream) as EntryFields<K>;
}
