// The one global TLV tag table of docs/protocol.md ("Tags"). Keys are the TypeScript field
// names used in message objects; `wire` is the name the document uses.
import { keysOf } from './keys.js';

/** How a tag's value is encoded (docs/protocol.md "Value kinds"). */
export type ValueKind = 'u32' | 'i32' | 'u64' | 'str' | 'bytes';

export interface TagSpec {
  readonly tag: number;
  readonly wire: string;
  readonly kind: ValueKind;
  /** A repeated tag may occur any number of times; its values keep their order. */
  readonly repeated: boolean;
}

/** Longest `str` value in bytes. */
export const MAX_STR_BYTES = 4096;

export const TAGS = {
  argv: { tag: 1, wire: 'argv', kind: 'str', repeated: true },
  env: { tag: 2, wire: 'env', kind: 'str', repeated: true },
  cwd: { tag: 3, wire: 'cwd', kind: 'str', repeated: false },
  uid: { tag: 4, wire: 'uid', kind: 'u32', repeated: false },
  gid: { tag: 5, wire: 'gid', kind: 'u32', repeated: false },
  pty: { tag: 6, wire: 'pty', kind: 'u32', repeated: false },
  rows: { tag: 7, wire: 'rows', kind: 'u32', repeated: false },
  cols: { tag: 8, wire: 'cols', kind: 'u32', repeated: false },
  timeoutMs: { tag: 9, wire: 'timeout_ms', kind: 'u32', repeated: false },
  bufferBytes: { tag: 10, wire: 'buffer_bytes', kind: 'u32', repeated: false },
  window: { tag: 11, wire: 'window', kind: 'u32', repeated: false },
  procId: { tag: 12, wire: 'proc_id', kind: 'u32', repeated: false },
  offset: { tag: 13, wire: 'offset', kind: 'u64', repeated: false },
  pid: { tag: 14, wire: 'pid', kind: 'u32', repeated: false },
  signal: { tag: 15, wire: 'signal', kind: 'u32', repeated: false },
  exitCode: { tag: 16, wire: 'exit_code', kind: 'i32', repeated: false },
  path: { tag: 17, wire: 'path', kind: 'str', repeated: false },
  path2: { tag: 18, wire: 'path2', kind: 'str', repeated: false },
  mode: { tag: 19, wire: 'mode', kind: 'u32', repeated: false },
  flags: { tag: 20, wire: 'flags', kind: 'u32', repeated: false },
  length: { tag: 21, wire: 'length', kind: 'u64', repeated: false },
  size: { tag: 22, wire: 'size', kind: 'u64', repeated: false },
  errno: { tag: 23, wire: 'errno', kind: 'str', repeated: false },
  message: { tag: 24, wire: 'message', kind: 'str', repeated: false },
  version: { tag: 25, wire: 'version', kind: 'u32', repeated: false },
  caps: { tag: 26, wire: 'caps', kind: 'u64', repeated: false },
  agentVersion: { tag: 27, wire: 'agent_version', kind: 'str', repeated: false },
  hostname: { tag: 28, wire: 'hostname', kind: 'str', repeated: false },
  timing: { tag: 29, wire: 'timing', kind: 'str', repeated: true },
  bootId: { tag: 30, wire: 'boot_id', kind: 'u64', repeated: false },
  entry: { tag: 31, wire: 'entry', kind: 'bytes', repeated: true },
  name: { tag: 32, wire: 'name', kind: 'str', repeated: false },
  ftype: { tag: 33, wire: 'ftype', kind: 'u32', repeated: false },
  mtimeNs: { tag: 34, wire: 'mtime_ns', kind: 'u64', repeated: false },
  target: { tag: 35, wire: 'target', kind: 'str', repeated: false },
  state: { tag: 36, wire: 'state', kind: 'u32', repeated: false },
  timedOut: { tag: 37, wire: 'timed_out', kind: 'u32', repeated: false },
  termSignal: { tag: 38, wire: 'term_signal', kind: 'u32', repeated: false },
  stdin: { tag: 39, wire: 'stdin', kind: 'u32', repeated: false },
  keep: { tag: 40, wire: 'keep', kind: 'u32', repeated: false },
  port: { tag: 41, wire: 'port', kind: 'u32', repeated: false },
  addr: { tag: 42, wire: 'addr', kind: 'str', repeated: false },
} as const satisfies Record<string, TagSpec>;

export type TagName = keyof typeof TAGS;

type KindValue<K extends ValueKind> = K extends 'u32' | 'i32'
  ? number
  : K extends 'u64'
    ? bigint
    : K extends 'str'
      ? string
      : Uint8Array;

/** The TypeScript type of a tag's value: an array for repeated tags. */
export type TagValue<N extends TagName> = (typeof TAGS)[N]['repeated'] extends true
  ? KindValue<(typeof TAGS)[N]['kind']>[]
  : KindValue<(typeof TAGS)[N]['kind']>;

/** Tag number → name, built once from TAGS so the numbers are written in one place only. */
export const TAG_BY_NUMBER: ReadonlyMap<number, TagName> = new Map(
  keysOf(TAGS).map((name) => [TAGS[name].tag, name]),
);
