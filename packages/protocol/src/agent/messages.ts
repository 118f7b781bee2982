// The message table of docs/protocol.md ("Message types"): every type's number, direction,
// payload kind, stream rule and allowed/required tags. The codec and the client read these
// rows; no other file spells a message number or a tag list.
import { keysOf } from './keys.js';
import type { TagName, TagValue } from './tags.js';

export type PayloadKind = 'tlv' | 'data' | 'raw' | 'empty';
/** Who sends it: the host, the agent, or either (CREDIT). */
export type Direction = 'host' | 'agent' | 'both';
/** Which stream ids it may use: 0 only, non-zero only, or any. */
export type StreamRule = 'zero' | 'nonzero' | 'any';

export interface FieldSet {
  readonly required: readonly TagName[];
  readonly optional: readonly TagName[];
}

export interface MessageSpec extends FieldSet {
  readonly code: number;
  readonly dir: Direction;
  readonly payload: PayloadKind;
  readonly stream: StreamRule;
  /** A request that opens a stream (docs: "H, opens"). */
  readonly opens: boolean;
}

const none = [] as const;

export const MESSAGES = {
  READY: { code: 0x01, dir: 'agent', payload: 'tlv', stream: 'zero', opens: false,
    required: ['version', 'caps', 'agentVersion', 'pid', 'bootId', 'window'], optional: ['timing'] },
  HELLO: { code: 0x02, dir: 'host', payload: 'tlv', stream: 'zero', opens: false,
    required: ['version', 'caps'], optional: none },
  EXEC: { code: 0x10, dir: 'host', payload: 'tlv', stream: 'nonzero', opens: true,
    required: ['argv'],
    optional: ['env', 'cwd', 'uid', 'gid', 'pty', 'rows', 'cols', 'timeoutMs', 'bufferBytes', 'window', 'stdin', 'keep'] },
  ATTACH: { code: 0x11, dir: 'host', payload: 'tlv', stream: 'nonzero', opens: true,
    required: ['procId'], optional: ['offset', 'window'] },
  PS: { code: 0x12, dir: 'host', payload: 'tlv', stream: 'nonzero', opens: true, required: none, optional: none },
  STDIN: { code: 0x13, dir: 'host', payload: 'raw', stream: 'any', opens: false, required: none, optional: none },
  STDIN_EOF: { code: 0x14, dir: 'host', payload: 'empty', stream: 'any', opens: false, required: none, optional: none },
  SIGNAL: { code: 0x15, dir: 'host', payload: 'tlv', stream: 'any', opens: false, required: ['signal'], optional: none },
  RESIZE: { code: 0x16, dir: 'host', payload: 'tlv', stream: 'any', opens: false, required: ['rows', 'cols'], optional: none },
  CLOSE: { code: 0x17, dir: 'host', payload: 'empty', stream: 'any', opens: false, required: none, optional: none },
  CREDIT: { code: 0x18, dir: 'both', payload: 'tlv', stream: 'any', opens: false, required: ['offset'], optional: none },
  FREAD: { code: 0x20, dir: 'host', payload: 'tlv', stream: 'nonzero', opens: true,
    required: ['path'], optional: ['offset', 'length', 'window'] },
  FWRITE: { code: 0x21, dir: 'host', payload: 'tlv', stream: 'nonzero', opens: true,
    required: ['path'], optional: ['mode', 'flags'] },
  WDATA: { code: 0x22, dir: 'host', payload: 'raw', stream: 'any', opens: false, required: none, optional: none },
  WEND: { code: 0x23, dir: 'host', payload: 'empty', stream: 'any', opens: false, required: none, optional: none },
  STAT: { code: 0x24, dir: 'host', payload: 'tlv', stream: 'nonzero', opens: true, required: ['path'], optional: ['flags'] },
  LIST: { code: 0x25, dir: 'host', payload: 'tlv', stream: 'nonzero', opens: true, required: ['path'], optional: none },
  MKDIR: { code: 0x26, dir: 'host', payload: 'tlv', stream: 'nonzero', opens: true, required: ['path'], optional: ['mode', 'flags'] },
  REMOVE: { code: 0x27, dir: 'host', payload: 'tlv', stream: 'nonzero', opens: true, required: ['path'], optional: ['flags'] },
  RENAME: { code: 0x28, dir: 'host', payload: 'tlv', stream: 'nonzero', opens: true, required: ['path', 'path2'], optional: none },
  CONFIGURE: { code: 0x30, dir: 'host', payload: 'tlv', stream: 'nonzero', opens: true, required: none, optional: ['hostname', 'env'] },
  PING: { code: 0x31, dir: 'host', payload: 'tlv', stream: 'nonzero', opens: true, required: none, optional: none },
  TCP_CONNECT: { code: 0x40, dir: 'host', payload: 'tlv', stream: 'nonzero', opens: true, required: ['port'], optional: ['addr', 'window'] },
  STARTED: { code: 0x80, dir: 'agent', payload: 'tlv', stream: 'any', opens: false, required: ['procId', 'pid', 'offset'], optional: none },
  OUT_STDOUT: { code: 0x81, dir: 'agent', payload: 'data', stream: 'any', opens: false, required: none, optional: none },
  OUT_STDERR: { code: 0x82, dir: 'agent', payload: 'data', stream: 'any', opens: false, required: none, optional: none },
  EXIT: { code: 0x83, dir: 'agent', payload: 'tlv', stream: 'any', opens: false,
    required: ['offset'], optional: ['exitCode', 'termSignal', 'timedOut'] },
  DATA: { code: 0x84, dir: 'agent', payload: 'data', stream: 'any', opens: false, required: none, optional: none },
  ENTRIES: { code: 0x85, dir: 'agent', payload: 'tlv', stream: 'any', opens: false, required: none, optional: ['entry'] },
  // OK's allowed tags are the union of every request's reply fields (OK_REPLIES below).
  OK: { code: 0x86, dir: 'agent', payload: 'tlv', stream: 'any', opens: false,
    required: none, optional: ['size', 'ftype', 'mode', 'uid', 'gid', 'mtimeNs', 'target'] },
  ERROR: { code: 0x87, dir: 'agent', payload: 'tlv', stream: 'any', opens: false, required: ['errno'], optional: ['message'] },
  CONNECTED: { code: 0x88, dir: 'agent', payload: 'tlv', stream: 'any', opens: false, required: none, optional: ['addr'] },
  EOF: { code: 0x89, dir: 'agent', payload: 'empty', stream: 'any', opens: false, required: none, optional: none },
} as const satisfies Record<string, MessageSpec>;

export type MessageName = keyof typeof MESSAGES;

/**
 * What an `OK` must carry for each request (docs/protocol.md "Files"); requests not listed
 * reply a bare `OK`. Checked by the client, since the decoder cannot know the request.
 */
export const OK_REPLIES = {
  FREAD: { required: ['size'], optional: none },
  FWRITE: { required: ['size'], optional: none },
  TCP_CONNECT: { required: ['size'], optional: none },
  STAT: { required: ['ftype', 'mode', 'size', 'uid', 'gid', 'mtimeNs'], optional: ['target'] },
} as const satisfies Partial<Record<MessageName, FieldSet>>;

const BARE_OK: FieldSet = { required: none, optional: none };
const OK_ROWS: ReadonlyMap<MessageName, FieldSet> = new Map(keysOf(OK_REPLIES).map((name) => [name, OK_REPLIES[name]]));

/** The fields an `OK` to `request` must and may carry. */
export function okRow(request: MessageName): FieldSet {
  return OK_ROWS.get(request) ?? BARE_OK;
}

/** The nested TLV inside an `entry` value: a process (PS) or a directory entry (LIST). */
export const ENTRY_KINDS = {
  process: { required: ['procId', 'pid', 'state', 'offset'], optional: ['argv', 'exitCode', 'termSignal'] },
  file: { required: ['name', 'ftype', 'mode', 'size', 'mtimeNs'], optional: ['target'] },
} as const satisfies Record<string, FieldSet>;

export type EntryKind = keyof typeof ENTRY_KINDS;

/** Field object for a row: required tags present, optional ones possibly absent. */
export type FieldsOf<S extends FieldSet> = { [N in S['required'][number]]: TagValue<N> } & {
  [N in S['optional'][number]]?: TagValue<N>;
};

export type MessageFields<M extends MessageName> = FieldsOf<(typeof MESSAGES)[M]>;
export type EntryFields<K extends EntryKind> = FieldsOf<(typeof ENTRY_KINDS)[K]>;
/** The fields of an `OK` in reply to request `R` (none for requests without a row). */
export type OkFields<R extends MessageName> = R extends keyof typeof OK_REPLIES ? FieldsOf<(typeof OK_REPLIES)[R]> : object;

/** Message name by type number, derived from MESSAGES. */
export const MESSAGE_BY_CODE: ReadonlyMap<number, MessageName> = new Map(
  keysOf(MESSAGES).map((name) => [MESSAGES[name].code, name]),
);
