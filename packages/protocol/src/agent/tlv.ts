// Strict TLV fields (docs/protocol.md "Payload kinds", "Value kinds"): each field is
// u8 tag, u32 vlen, vlen bytes. Which tags a payload may carry comes from a FieldSet row
// of messages.ts; nothing here lists tags itself.
import { ProtocolError } from './errors.js';
import { keysOf } from './keys.js';
import type { FieldSet } from './messages.js';
import { MAX_STR_BYTES, TAG_BY_NUMBER, TAGS, type TagName, type ValueKind } from './tags.js';

const FIELD_HEADER_BYTES = 5;
const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;
const FIXED_SIZE: Partial<Record<ValueKind, number>> = { u32: 4, i32: 4, u64: 8 };

/** The allowed tags of a row as a set, computed once per row. */
const allowedCache = new WeakMap<FieldSet, ReadonlySet<TagName>>();
function allowed(set: FieldSet): ReadonlySet<TagName> {
  let s = allowedCache.get(set);
  if (s === undefined) {
    s = new Set([...set.required, ...set.optional]);
    allowedCache.set(set, s);
  }
  return s;
}

/**
 * Decodes a TLV payload against `set`. Rejects unknown, disallowed and repeated tags,
 * wrong-sized values, overlong or NUL-bearing strings and missing required tags.
 * Strings are UTF-8; invalid sequences decode to U+FFFD (the document defines no rule).
 */
export function decodeFields(set: FieldSet, payload: Uint8Array, what: string, stream = 0): Record<string, unknown> {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const ok = allowed(set);
  const out: Record<string, unknown> = {};
  let pos = 0;
  while (pos < payload.byteLength) {
    if (payload.byteLength - pos < FIELD_HEADER_BYTES) {
      throw new ProtocolError('field_overrun', `${what}: field header truncated at byte ${pos}`, { stream });
    }
    const tag = payload[pos] ?? 0;
    const vlen = view.getUint32(pos + 1, true);
    pos += FIELD_HEADER_BYTES;
    const name = TAG_BY_NUMBER.get(tag);
    if (name === undefined) throw new ProtocolError('unknown_tag', `${what}: tag ${tag}`, { stream });
    if (!ok.has(name)) throw new ProtocolError('tag_not_allowed', `${what}: tag ${TAGS[name].wire}`, { stream });
    if (vlen > payload.byteLength - pos) {
      throw new ProtocolError('field_overrun', `${what}: ${TAGS[name].wire} value of ${vlen} bytes runs past the payload`, { stream });
    }
    const value = decodeValue(name, view, pos, vlen, what, stream);
    pos += vlen;
    store(out, name, value, what, stream);
  }
  for (const name of set.required) {
    if (!(name in out)) throw new ProtocolError('missing_field', `${what}: ${TAGS[name].wire} is required`, { stream });
  }
  return out;
}

function store(out: Record<string, unknown>, name: TagName, value: unknown, what: string, stream: number): void {
  const prev = out[name];
  if (TAGS[name].repeated) {
    if (Array.isArray(prev)) prev.push(value);
    else out[name] = [value];
  } else if (prev !== undefined) {
    throw new ProtocolError('repeated_tag', `${what}: ${TAGS[name].wire} given twice`, { stream });
  } else {
    out[name] = value;
  }
}

function decodeValue(name: TagName, view: DataView, at: number, vlen: number, what: string, stream: number): unknown {
  const kind = TAGS[name].kind;
  const fixed = FIXED_SIZE[kind];
  if (fixed !== undefined && vlen !== fixed) {
    throw new ProtocolError('bad_value_size', `${what}: ${TAGS[name].wire} is ${kind} but has ${vlen} bytes`, { stream });
  }
  const bytes = Buffer.from(view.buffer, view.byteOffset + at, vlen);
  switch (kind) {
    case 'u32': return view.getUint32(at, true);
    case 'i32': return view.getInt32(at, true);
    case 'u64': return view.getBigUint64(at, true);
    case 'bytes': return bytes;
    case 'str':
      if (vlen > MAX_STR_BYTES) {
        throw new ProtocolError('bad_value_size', `${what}: ${TAGS[name].wire} is ${vlen} bytes, over ${MAX_STR_BYTES}`, { stream });
      }
      if (bytes.includes(0)) throw new ProtocolError('nul_in_string', `${what}: NUL in ${TAGS[name].wire}`, { stream });
      return bytes.toString('utf8');
  }
}

/** Field name → tag name, for checking the keys of an object being encoded. */
const TAG_NAMES: ReadonlyMap<string, TagName> = new Map(keysOf(TAGS).map((n) => [n, n]));

/** A value ready to write: its tag and its bytes. */
interface Encoded { readonly tag: number; readonly bytes: Uint8Array }

/**
 * Encodes `fields` against `set`. Values are checked as strictly as the decoder checks
 * them, so a frame this function produces always decodes; a bad value is a ProtocolError
 * with code `bad_value` (or `missing_field`, `tag_not_allowed`).
 */
export function encodeFields(set: FieldSet, fields: object, what: string): Buffer {
  const ok = allowed(set);
  const parts: Encoded[] = [];
  let total = 0;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const name = TAG_NAMES.get(key);
    if (name === undefined || !ok.has(name)) throw new ProtocolError('tag_not_allowed', `${what}: field ${key}`);
    const values: unknown[] = TAGS[name].repeated ? asArray(value, name, what) : [value];
    for (const v of values) {
      const bytes = encodeValue(name, v, what);
      parts.push({ tag: TAGS[name].tag, bytes });
      total += FIELD_HEADER_BYTES + bytes.byteLength;
    }
  }
  for (const name of set.required) {
    if (!parts.some((p) => p.tag === TAGS[name].tag)) {
      throw new ProtocolError('missing_field', `${what}: ${TAGS[name].wire} is required`);
    }
  }
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const p of parts) {
    out[pos] = p.tag;
    out.writeUInt32LE(p.bytes.byteLength, pos + 1);
    out.set(p.bytes, pos + FIELD_HEADER_BYTES);
    pos += FIELD_HEADER_BYTES + p.bytes.byteLength;
  }
  return out;
}

function asArray(value: unknown, name: TagName, what: string): unknown[] {
  if (!Array.isArray(value)) throw new ProtocolError('bad_value', `${what}: ${TAGS[name].wire} must be an array`);
  return value;
}

function encodeValue(name: TagName, v: unknown, what: string): Uint8Array {
  const kind = TAGS[name].kind;
  const bad = (why: string): ProtocolError => new ProtocolError('bad_value', `${what}: ${TAGS[name].wire} ${why}`);
  switch (kind) {
    case 'u32':
    case 'i32': {
      const [lo, hi] = kind === 'u32' ? [0, U32_MAX] : [-0x8000_0000, 0x7fff_ffff];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw bad(`must be an integer in ${lo}..${hi}`);
      const b = Buffer.allocUnsafe(4);
      if (kind === 'u32') b.writeUInt32LE(v);
      else b.writeInt32LE(v);
      return b;
    }
    case 'u64': {
      if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw bad('must be a bigint in 0..2^64-1');
      const b = Buffer.allocUnsafe(8);
      b.writeBigUInt64LE(v);
      return b;
    }
    case 'str': {
      if (typeof v !== 'string') throw bad('must be a string');
      const b = Buffer.from(v, 'utf8');
      if (b.byteLength > MAX_STR_BYTES) throw bad(`is ${b.byteLength} bytes, over ${MAX_STR_BYTES}`);
      if (b.includes(0)) throw bad('contains a NUL byte');
      return b;
    }
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw bad('must be bytes');
      return v;
  }
}

/**
 * Checks already-decoded fields against a narrower row (an OK against its request's
 * reply row): every present field allowed, every required one present.
 */
export function checkFields(set: FieldSet, fields: object, what: string, stream = 0): void {
  const ok = allowed(set);
  for (const [key, value] of Object.entries(fields)) {
    const name = TAG_NAMES.get(key);
    if (value !== undefined && (name === undefined || !ok.has(name))) {
      throw new ProtocolError('tag_not_allowed', `${what}: tag ${name === undefined ? key : TAGS[name].wire}`, { stream });
    }
  }
  for (const name of set.required) {
    if (!(name in fields)) throw new ProtocolError('missing_field', `${what}: ${TAGS[name].wire} is required`, { stream });
  }
}
