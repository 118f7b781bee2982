import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEntry, decodeMessage, encodeMessage, type Message } from './codec.js';
import { FrameDecoder } from './decoder.js';
import { ProtocolError, type ProtocolErrorCode } from './errors.js';
import { randomMessage, Rng } from './fuzz.js';
import { HEADER_BYTES, MAX_PAYLOAD_BYTES, readHeader } from './header.js';
import { keysOf } from './keys.js';
import { MESSAGES, type MessageName } from './messages.js';
import { encodeFields } from './tlv.js';
import { TAGS } from './tags.js';

/** Decodes one whole frame. */
function decodeOne(frame: Uint8Array): Message {
  const frames: Message[] = [];
  new FrameDecoder().push(frame, (f) => frames.push(decodeMessage(f)));
  assert.equal(frames.length, 1);
  const [m] = frames;
  assert.ok(m);
  return m;
}

/** Byte fields as Buffers, so views and copies compare equal. */
function normalise(m: Message): unknown {
  return 'data' in m ? { ...m, data: Buffer.from(m.data) } : m;
}

/** A frame built by hand: header fields and payload as given, no validation. */
function rawFrame(code: number, stream: number, payload: Uint8Array, flags = 0, len = payload.byteLength): Buffer {
  const b = Buffer.alloc(HEADER_BYTES + payload.byteLength);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(code, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(stream, 8);
  b.set(payload, HEADER_BYTES);
  return b;
}

function field(tag: number, value: Uint8Array | number[]): Buffer {
  const v = Buffer.from(value);
  const b = Buffer.alloc(5);
  b[0] = tag;
  b.writeUInt32LE(v.length, 1);
  return Buffer.concat([b, v]);
}

const u32 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
const u64 = (n: number): number[] => [...u32(n), 0, 0, 0, 0];
const code = (t: MessageName): number => MESSAGES[t].code;

function rejects(frame: Uint8Array, expected: ProtocolErrorCode): void {
  assert.throws(() => decodeOne(frame), (err: unknown) => err instanceof ProtocolError && err.code === expected);
}

describe('frame codec', () => {
  it('round-trips every message type with random valid fields', () => {
    const rng = new Rng(7);
    for (const type of keysOf(MESSAGES)) {
      for (let i = 0; i < 50; i++) {
        const msg = randomMessage(rng, { types: [type] });
        assert.deepEqual(normalise(decodeOne(encodeMessage(msg))), normalise(msg));
      }
    }
  });

  it('writes the header little-endian: len, type, flags, stream', () => {
    const f = encodeMessage({ type: 'CREDIT', stream: 0x01020304, fields: { offset: 5n } });
    assert.deepEqual([...f.subarray(0, 12)], [13, 0, 0, 0, 0x18, 0, 0, 0, 4, 3, 2, 1]);
    assert.deepEqual(readHeader(f, 0), { type: 'CREDIT', stream: 0x01020304, len: 13 });
  });

  it('keeps repeated tags in order and decodes nested entries', () => {
    const entry = encodeFields(
      { required: ['name', 'ftype', 'mode', 'size', 'mtimeNs'], optional: ['target'] },
      { name: 'a', ftype: 3, mode: 0o120777, size: 4n, mtimeNs: 9n, target: '/x' },
      'entry',
    );
    const m = decodeOne(encodeMessage({ type: 'ENTRIES', stream: 3, fields: { entry: [entry, entry] } }));
    assert.equal(m.type, 'ENTRIES');
    if (m.type !== 'ENTRIES') return;
    assert.equal(m.fields.entry?.length, 2);
    assert.deepEqual(decodeEntry('file', m.fields.entry?.[0] ?? new Uint8Array()), {
      name: 'a', ftype: 3, mode: 0o120777, size: 4n, mtimeNs: 9n, target: '/x',
    });
    const argv = decodeOne(encodeMessage({ type: 'EXEC', stream: 1, fields: { argv: ['a', '', 'c'] } }));
    assert.deepEqual(argv.type === 'EXEC' && argv.fields.argv, ['a', '', 'c']);
  });

  it('accepts fields in any order and a str of exactly 4096 bytes', () => {
    const payload = Buffer.concat([field(TAGS.path2.tag, Buffer.from('/b')), field(TAGS.path.tag, Buffer.alloc(4096, 0x61))]);
    const m = decodeOne(rawFrame(code('RENAME'), 1, payload));
    assert.equal(m.type === 'RENAME' && m.fields.path.length, 4096);
  });
});

describe('frame rejection rules (docs/protocol.md)', () => {
  it('len above 1 MiB, from the header alone', () => {
    const header = rawFrame(code('STDIN'), 1, new Uint8Array(0), 0, MAX_PAYLOAD_BYTES + 1);
    assert.throws(() => new FrameDecoder().push(header, () => undefined), { code: 'frame_too_large' });
    rawFrame(code('STDIN'), 1, new Uint8Array(0), 0, MAX_PAYLOAD_BYTES);
  });
  it('len of exactly 1 MiB is allowed', () => {
    const m = decodeOne(rawFrame(code('WDATA'), 1, Buffer.alloc(MAX_PAYLOAD_BYTES)));
    assert.equal(m.type === 'WDATA' && m.data.byteLength, MAX_PAYLOAD_BYTES);
  });
  it('unknown type', () => rejects(rawFrame(0x99, 1, new Uint8Array(0)), 'unknown_type'));
  it('non-zero flags', () => rejects(rawFrame(code('CLOSE'), 1, new Uint8Array(0), 1), 'reserved_flags'));
  it('request on stream 0', () => rejects(rawFrame(code('PING'), 0, new Uint8Array(0)), 'wrong_stream'));
  it('READY/HELLO on a non-zero stream', () => {
    rejects(rawFrame(code('HELLO'), 2, Buffer.concat([field(25, u32(1)), field(26, u64(1))])), 'wrong_stream');
    rejects(rawFrame(code('READY'), 1, new Uint8Array(0)), 'wrong_stream');
  });
  it('field header cut short', () => rejects(rawFrame(code('PING'), 1, Buffer.from([17, 1, 0])), 'field_overrun'));
  it('value running past the payload', () => rejects(rawFrame(code('STAT'), 1, Buffer.concat([field(17, Buffer.from('/a')).subarray(0, 6)])), 'field_overrun'));
  it('unknown tag', () => rejects(rawFrame(code('PING'), 1, field(99, [])), 'unknown_tag'));
  it('tag 0 is unknown', () => rejects(rawFrame(code('PING'), 1, field(0, [])), 'unknown_tag'));
  it('known tag not allowed for the message', () => rejects(rawFrame(code('PING'), 1, field(TAGS.path.tag, Buffer.from('/'))), 'tag_not_allowed'));
  it('repeated non-repeatable tag', () => {
    rejects(rawFrame(code('STAT'), 1, Buffer.concat([field(17, Buffer.from('/a')), field(17, Buffer.from('/b'))])), 'repeated_tag');
  });
  it('wrong-sized u32, i32 and u64 values', () => {
    rejects(rawFrame(code('SIGNAL'), 1, field(TAGS.signal.tag, [1, 0, 0])), 'bad_value_size');
    rejects(rawFrame(code('EXIT'), 1, Buffer.concat([field(13, u64(0)), field(TAGS.exitCode.tag, [0, 0, 0, 0, 0])])), 'bad_value_size');
    rejects(rawFrame(code('CREDIT'), 1, field(TAGS.offset.tag, u32(1))), 'bad_value_size');
  });
  it('str over 4096 bytes', () => rejects(rawFrame(code('STAT'), 1, field(17, Buffer.alloc(4097, 0x61))), 'bad_value_size'));
  it('NUL in a str', () => rejects(rawFrame(code('STAT'), 1, field(17, Buffer.from('/a\0b'))), 'nul_in_string'));
  it('DATA payload shorter than 8 bytes', () => rejects(rawFrame(code('OUT_STDOUT'), 1, Buffer.alloc(7)), 'short_data'));
  it('EMPTY payload with bytes', () => rejects(rawFrame(code('STDIN_EOF'), 1, Buffer.alloc(1)), 'nonempty_payload'));
  it('missing required tag', () => rejects(rawFrame(code('CREDIT'), 1, new Uint8Array(0)), 'missing_field'));
  it('a required repeated tag needs one value', () => rejects(rawFrame(code('EXEC'), 1, new Uint8Array(0)), 'missing_field'));
  it('nested entries are held to their own tag set', () => {
    const bad = encodeFields({ required: [], optional: ['path'] }, { path: '/x' }, 'bad entry');
    assert.throws(() => decodeEntry('file', bad), { code: 'tag_not_allowed' });
    assert.throws(() => decodeEntry('process', Buffer.from([12, 4, 0, 0])), { code: 'field_overrun' });
  });
});

describe('encoder', () => {
  it('refuses values the decoder would refuse', () => {
    const bad: [Message, ProtocolErrorCode][] = [
      [{ type: 'STAT', stream: 1, fields: { path: 'a\0b' } }, 'bad_value'],
      [{ type: 'STAT', stream: 1, fields: { path: 'x'.repeat(4097) } }, 'bad_value'],
      [{ type: 'SIGNAL', stream: 1, fields: { signal: -1 } }, 'bad_value'],
      [{ type: 'SIGNAL', stream: 1, fields: { signal: 1.5 } }, 'bad_value'],
      [{ type: 'CREDIT', stream: 1, fields: { offset: 1n << 64n } }, 'bad_value'],
    ];
    for (const [msg, expected] of bad) assert.throws(() => encodeMessage(msg), { code: expected });
  });
  it('refuses a payload over 1 MiB', () => {
    assert.throws(() => encodeMessage({ type: 'WDATA', stream: 1, data: Buffer.alloc(MAX_PAYLOAD_BYTES + 1) }), { code: 'frame_too_large' });
  });
});

describe('TCP messages (capability tcp)', () => {
  it('round-trip TCP_CONNECT, CONNECTED and EOF', () => {
    const msgs: Message[] = [
      { type: 'TCP_CONNECT', stream: 3, fields: { port: 8000 } },
      { type: 'TCP_CONNECT', stream: 3, fields: { port: 65_535, addr: '::1', window: 65_536 } },
      { type: 'CONNECTED', stream: 3, fields: { addr: '127.0.0.1' } },
      { type: 'EOF', stream: 3 },
    ];
    for (const m of msgs) assert.deepEqual(normalise(decodeOne(encodeMessage(m))), normalise(m));
  });
  it('TCP_CONNECT needs a port and opens a non-zero stream', () => {
    rejects(rawFrame(code('TCP_CONNECT'), 1, new Uint8Array(0)), 'missing_field');
    rejects(rawFrame(code('TCP_CONNECT'), 0, field(TAGS.port.tag, u32(80))), 'wrong_stream');
  });
  it('EOF is empty; port is a u32, addr a str without NUL', () => {
    rejects(rawFrame(code('EOF'), 1, Buffer.alloc(1)), 'nonempty_payload');
    rejects(rawFrame(code('TCP_CONNECT'), 1, field(TAGS.port.tag, [80, 0])), 'bad_value_size');
    rejects(rawFrame(code('CONNECTED'), 1, field(TAGS.addr.tag, Buffer.from('::\0'))), 'nul_in_string');
  });
});
