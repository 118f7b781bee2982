import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeMessage, type RawFrame } from './codec.js';
import { FrameDecoder } from './decoder.js';
import { randomFrame, randomSplits, Rng } from './fuzz.js';
import { HEADER_BYTES } from './header.js';

function feed(decoder: FrameDecoder, bytes: Buffer, cuts: number[]): RawFrame[] {
  const out: RawFrame[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    decoder.push(bytes.subarray(at, cut), (f) => out.push({ ...f, payload: Buffer.from(f.payload) }));
    at = cut;
  }
  return out;
}

describe('FrameDecoder', () => {
  it('yields the same frames however the bytes are split', () => {
    const rng = new Rng(11);
    const frames = Array.from({ length: 200 }, () => randomFrame(rng, { maxDataBytes: 3000 }));
    const all = Buffer.concat(frames);
    const whole = feed(new FrameDecoder(), all, []);
    assert.equal(whole.length, frames.length);
    for (let i = 0; i < 50; i++) assert.deepEqual(feed(new FrameDecoder(), all, randomSplits(rng, all.length)), whole);
    const bytewise = Array.from({ length: all.length - 1 }, (_, k) => k + 1);
    assert.deepEqual(feed(new FrameDecoder(), all, bytewise), whole);
  });

  it('rejects an oversized len before any payload arrives', () => {
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(0xffff_ffff, 0);
    header.writeUInt16LE(0x13, 4);
    const d = new FrameDecoder();
    d.push(header.subarray(0, 11), () => undefined);
    assert.equal(d.pendingBytes, 11);
    assert.throws(() => d.push(header.subarray(11), () => undefined), { code: 'frame_too_large' });
  });

  it('delivers frames before the bad one, then stays failed', () => {
    const good = encodeMessage({ type: 'CLOSE', stream: 1 });
    const bad = Buffer.from(good);
    bad.writeUInt16LE(1, 6);
    const d = new FrameDecoder();
    const seen: RawFrame[] = [];
    assert.throws(() => d.push(Buffer.concat([good, bad]), (f) => seen.push(f)), { code: 'reserved_flags' });
    assert.equal(seen.length, 1);
    assert.throws(() => d.push(good, () => undefined), { code: 'reserved_flags' });
  });

  it('counts the bytes of an incomplete frame', () => {
    const f = encodeMessage({ type: 'WDATA', stream: 1, data: Buffer.alloc(100) });
    const d = new FrameDecoder();
    d.push(f.subarray(0, 50), () => undefined);
    assert.equal(d.pendingBytes, 50);
    let n = 0;
    d.push(f.subarray(50), () => n++);
    assert.equal(n, 1);
    assert.equal(d.pendingBytes, 0);
  });
});
