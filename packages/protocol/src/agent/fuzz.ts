// Random valid frames and their mutations, for fuzzing the TS and C decoders. Values are
// generated from the same tables the codec reads, so every message type and tag is
// covered without a list here.
import { encodeMessage, type Message } from './codec.js';
import { HEADER_BYTES, MAX_PAYLOAD_BYTES } from './header.js';
import { keysOf } from './keys.js';
import { ENTRY_KINDS, MESSAGES, type FieldSet, type MessageName } from './messages.js';
import { encodeFields } from './tlv.js';
import { MAX_STR_BYTES, TAGS, type TagName } from './tags.js';

/** A small deterministic PRNG (mulberry32): the same seed gives the same cases. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A uniform u32. */
  u32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform integer in 0..n-1. */
  below(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.below(items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

export interface GenerateOptions {
  /** Types to draw from. @default every type */
  types?: readonly MessageName[];
  /** Makes the `str` value of a tag; the default is random printable text. */
  str?: (rng: Rng, tag: TagName) => string;
  /** Largest RAW/DATA body. @default 512 */
  maxDataBytes?: number;
  /** Stream ids to draw from (0 is used only where the type requires it). @default 1..8 */
  streams?: readonly number[];
}

const ALL_TYPES = keysOf(MESSAGES);

/** A message that obeys every rule of the tables (required tags present, sizes right). */
export function randomMessage(rng: Rng, opts: GenerateOptions = {}): Message {
  const type = rng.pick(opts.types ?? ALL_TYPES);
  const spec = MESSAGES[type];
  const stream = spec.stream === 'zero' ? 0 : rng.pick(opts.streams ?? [1, 2, 3, 4, 5, 6, 7, 8]);
  const data = (): Buffer => rng.bytes(rng.below((opts.maxDataBytes ?? 512) + 1));
  // The casts below hand the codec an object built from the type's own row; encodeMessage
  // checks it against that row again.
  switch (spec.payload) {
    case 'tlv': return { type, stream, fields: randomFields(rng, spec, opts) } as Message;
    case 'data': return { type, stream, offset: BigInt(rng.below(1 << 30)), data: data() } as Message;
    case 'raw': return { type, stream, data: data() } as Message;
    case 'empty': return { type, stream } as Message;
  }
}

/** Random values for the tags of `set`: every required one, each optional one by chance. */
export function randomFields(rng: Rng, set: FieldSet, opts: GenerateOptions = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of set.required) out[name] = randomTag(rng, name, opts);
  for (const name of set.optional) if (rng.chance(0.4)) out[name] = randomTag(rng, name, opts);
  return out;
}

function randomTag(rng: Rng, name: TagName, opts: GenerateOptions): unknown {
  if (!TAGS[name].repeated) return randomValue(rng, name, opts);
  // An empty array encodes to nothing, so a present repeated tag has at least one value.
  const n = rng.below(3) + 1;
  return Array.from({ length: n }, () => randomValue(rng, name, opts));
}

function randomValue(rng: Rng, name: TagName, opts: GenerateOptions): unknown {
  switch (TAGS[name].kind) {
    case 'u32': return rng.chance(0.5) ? rng.below(16) : rng.u32();
    case 'i32': return rng.u32() | 0;
    case 'u64': return rng.chance(0.5) ? BigInt(rng.below(1 << 20)) : (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
    case 'str': return opts.str?.(rng, name) ?? randomText(rng);
    case 'bytes': return randomEntry(rng, opts);
  }
}

function randomText(rng: Rng): string {
  const len = rng.chance(0.02) ? MAX_STR_BYTES : rng.below(24);
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(0x20 + rng.below(95));
  return s;
}

function randomEntry(rng: Rng, opts: GenerateOptions): Uint8Array {
  const kind = rng.pick(keysOf(ENTRY_KINDS));
  return encodeFields(ENTRY_KINDS[kind], randomFields(rng, ENTRY_KINDS[kind], opts), `${kind} entry`);
}

/** One encoded valid frame. */
export function randomFrame(rng: Rng, opts: GenerateOptions = {}): Buffer {
  return encodeMessage(randomMessage(rng, opts));
}

type Mutation = (rng: Rng, f: Buffer, other: Buffer) => Buffer;

const MUTATIONS: readonly Mutation[] = [
  // Bit flips anywhere.
  (rng, f) => {
    const out = Buffer.from(f);
    for (let i = rng.below(4) + 1; i > 0 && out.length > 0; i--) {
      const at = rng.below(out.length);
      out[at] = (out[at] ?? 0) ^ (1 << rng.below(8));
    }
    return out;
  },
  // Truncation.
  (rng, f) => f.subarray(0, rng.below(f.length)),
  // Header length changed (small drift, or wild, or just over the limit).
  (rng, f) => withU32(f, 0, rng.pick([rng.u32(), MAX_PAYLOAD_BYTES + 1, Math.max(0, f.length - HEADER_BYTES + rng.below(9) - 4)])),
  // A TLV value length changed at a random field position guess.
  (rng, f) => (f.length > HEADER_BYTES + 5 ? withU32(f, HEADER_BYTES + 1 + rng.below(f.length - HEADER_BYTES - 5), rng.pick([0, 1, 4, 8, 4097, rng.u32()])) : f),
  // The first tag replaced.
  (rng, f) => withByte(f, HEADER_BYTES, rng.below(256)),
  // The type replaced by another known or unknown one.
  (rng, f) => withU16(f, 4, rng.chance(0.7) ? MESSAGES[rng.pick(ALL_TYPES)].code : rng.below(0x10000)),
  // Reserved flags set; stream changed.
  (rng, f) => withU16(f, 6, rng.below(0x10000)),
  (rng, f) => withU32(f, 8, rng.pick([0, 1, rng.u32()])),
  // Spliced with another frame at random points.
  (rng, f, other) => Buffer.concat([f.subarray(0, rng.below(f.length + 1)), other.subarray(rng.below(other.length + 1))]),
  // Random bytes inserted, or a NUL planted in the payload.
  (rng, f) => {
    const at = rng.below(f.length + 1);
    return Buffer.concat([f.subarray(0, at), rng.bytes(rng.below(8) + 1), f.subarray(at)]);
  },
  (rng, f) => (f.length > HEADER_BYTES ? withByte(f, HEADER_BYTES + rng.below(f.length - HEADER_BYTES), 0) : f),
];

/** A mutated copy of `frame`: one to three mutations, `other` used for splicing. */
export function mutateFrame(rng: Rng, frame: Buffer, other: Buffer): Buffer {
  let out = frame;
  for (let n = rng.below(3) + 1; n > 0; n--) out = rng.pick(MUTATIONS)(rng, out, other);
  return out;
}

/** Sorted cut points that split `length` bytes into random pieces (including 1-byte ones). */
export function randomSplits(rng: Rng, length: number): number[] {
  const cuts = new Set<number>();
  const n = rng.below(6);
  for (let i = 0; i < n && length > 1; i++) cuts.add(1 + rng.below(length - 1));
  return [...cuts].sort((a, b) => a - b);
}

function withU32(f: Buffer, at: number, v: number): Buffer {
  if (at + 4 > f.length) return f;
  const out = Buffer.from(f);
  out.writeUInt32LE(v >>> 0, at);
  return out;
}

function withU16(f: Buffer, at: number, v: number): Buffer {
  if (at + 2 > f.length) return f;
  const out = Buffer.from(f);
  out.writeUInt16LE(v & 0xffff, at);
  return out;
}

function withByte(f: Buffer, at: number, v: number): Buffer {
  if (at >= f.length) return f;
  const out = Buffer.from(f);
  out[at] = v;
  return out;
}
