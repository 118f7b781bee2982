// rm and prune: in-use refusal, untagging, reachability GC, size-capped LRU eviction with
// allocated-block figures, shared blobs, and stray directories.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { ShedError, type ImageDigest } from '@shed/server';
import { writeOciLayout } from './helpers/oci.js';
import { diskState, openTestStore, type TestStore } from './helpers/store.js';
import { file, makeTar } from './helpers/tars.js';

const MiB = 1 << 20;

describe('image rm and prune', () => {
  let t: TestStore | undefined;
  let clock = 1_000_000;
  const used = new Set<string>();

  afterEach(async () => {
    await t?.close();
    t = undefined;
    used.clear();
  });

  async function open(): Promise<TestStore> {
    t = await openTestStore({ now: () => clock, inUse: (d: ImageDigest) => used.has(d), pruneGraceMs: 0 });
    return t;
  }

  /** Imports a rootfs tar holding `mib` MiB of random (incompressible) bytes. */
  async function image(s: TestStore, name: string, mib: number): Promise<ImageDigest> {
    const path = join(s.work, `${name.replace(/\W/g, '_')}.tar`);
    await writeFile(path, await makeTar([file('payload', randomBytes(mib * MiB))]));
    return (await s.store.import(path, { names: [name] })).digest;
  }

  it('untags one of several names, and refuses to remove an image a sandbox uses unless forced', async () => {
    const s = await open();
    const a = await image(s, 'a:1', 1);
    await s.store.import(join(s.work, 'a_1.tar'), { names: ['a:alias'] });
    assert.deepEqual(await s.store.remove('a:alias'), { untagged: ['a:alias'], freedBytes: 0 });
    used.add(a);
    const err = await s.store.remove('a:1').catch((e: unknown) => e);
    assert.ok(err instanceof ShedError && err.code === 'failed_precondition' && /used by a sandbox/.test(err.message), String(err));
    const forced = await s.store.remove('a:1', { force: true });
    assert.deepEqual(forced, { untagged: ['a:1'], freedBytes: 0 });
    assert.equal((await s.store.resolve(a)).info.names.length, 0, 'the image stays, unnamed, while in use');
    const kept = await s.store.prune();
    assert.deepEqual(kept.deleted, [], 'prune keeps an in-use image even unnamed');
    used.delete(a);
    const freed = await s.store.prune();
    assert.deepEqual(freed.deleted.map((d) => [d.digest, d.reason]), [[a, 'unnamed']]);
    assert.ok(freed.freedBytes >= 2 * MiB, `rootfs and layer blob freed: ${freed.freedBytes} bytes`);
    assert.equal(freed.blobsDeleted, 3, 'manifest, config and layer');
    assert.deepEqual(await diskState(s.dataDir), { blobs: [], images: [], tmp: [] });
    console.log(`# prune of an unnamed 1 MiB image freed ${freed.freedBytes} bytes`);
  });

  it('removes an image by digest and says not_found for unknown ones', async () => {
    const s = await open();
    const a = await image(s, 'gone:1', 1);
    const r = await s.store.remove(a);
    assert.equal(r.deleted, a);
    assert.ok(r.freedBytes >= 2 * MiB);
    const err = await s.store.remove('gone:1').catch((e: unknown) => e);
    assert.ok(err instanceof ShedError && err.code === 'not_found', String(err));
  });

  it('evicts least recently used images down to a size cap, never an in-use one', async () => {
    const s = await open();
    const old = await image(s, 'old:1', 2);
    clock += 1000;
    const mid = await image(s, 'mid:1', 2);
    clock += 1000;
    const fresh = await image(s, 'fresh:1', 2);
    clock += 1000;
    await s.store.resolve('old:1'); // Now the most recently used.
    used.add(mid);
    const before = (await s.store.list()).reduce((n, i) => n + i.sizeBytes, 0);
    const cap = before - 3 * MiB;
    const r = await s.store.prune({ maxBytes: cap });
    console.log(`# LRU prune: ${before} bytes before, cap ${cap}, freed ${r.freedBytes}, ${r.totalBytes} after`);
    assert.deepEqual(r.deleted.map((d) => [d.digest, d.reason]), [[fresh, 'lru']], 'fresh:1 was used least recently; mid:1 is in use');
    assert.ok(r.totalBytes <= cap, `${r.totalBytes} <= ${cap}`);
    assert.ok(r.freedBytes >= 4 * MiB && r.freedBytes < 5 * MiB, `2 MiB rootfs + 2 MiB blob freed: ${r.freedBytes}`);
    assert.deepEqual((await s.store.list()).map((i) => i.digest).sort(), [old, mid].sort());
    const none = await s.store.prune({ maxBytes: 0 });
    assert.deepEqual(none.deleted.map((d) => d.digest), [old], 'a zero cap evicts all but the in-use image');
    assert.ok(none.totalBytes > 0);
  });

  it('keeps a blob two images share until the last of them goes', async () => {
    const s = await open();
    const shared = await makeTar([file('base', randomBytes(MiB))]);
    const a = await writeOciLayout(join(s.work, 'la'), [shared, await makeTar([file('a', 'a')])]);
    const b = await writeOciLayout(join(s.work, 'lb'), [shared, await makeTar([file('b', 'b')])]);
    await s.store.import(join(s.work, 'la'), { names: ['sa'] });
    await s.store.import(join(s.work, 'lb'), { names: ['sb'] });
    const sharedHex = (a.layerDigests[0] ?? '').slice(7);
    assert.equal(sharedHex, (b.layerDigests[0] ?? '').slice(7));
    const ra = await s.store.remove('sa');
    assert.ok(ra.freedBytes > MiB && ra.freedBytes < 2 * MiB, `a's rootfs only, not the shared blob: ${ra.freedBytes}`);
    assert.ok((await diskState(s.dataDir)).blobs.includes(sharedHex));
    await s.store.remove('sb');
    assert.deepEqual((await diskState(s.dataDir)).blobs, []);
  });

  it('sweeps unpack directories and blob files that belong to no image', async () => {
    const s = await open();
    await image(s, 'keep:1', 1);
    await mkdir(join(s.dataDir, 'images', 'f'.repeat(64), 'rootfs', 'x'), { recursive: true });
    await writeFile(join(s.dataDir, 'images', 'f'.repeat(64), 'rootfs', 'x', 'data'), randomBytes(64 << 10));
    await writeFile(join(s.dataDir, 'blobs', 'sha256', 'e'.repeat(64)), randomBytes(64 << 10));
    await writeFile(join(s.dataDir, 'blobs', 'sha256', 'not-a-blob'), 'x');
    const r = await s.store.prune();
    assert.deepEqual(r.deleted, []);
    assert.equal(r.strayDirsDeleted, 1);
    assert.ok(r.freedBytes >= 128 << 10, `${r.freedBytes}`);
    const state = await diskState(s.dataDir);
    assert.equal(state.images.length, 1);
    assert.equal(state.blobs.length, 3);
    assert.ok((await s.store.resolve('keep:1')).rootfs);
  });

  it('protects images resolved within the grace window', async () => {
    t = await openTestStore({ now: () => clock, pruneGraceMs: 60_000 });
    const d = await image(t, 'recent:1', 1);
    const r = await t.store.prune({ maxBytes: 0 });
    assert.deepEqual(r.deleted, [], 'just imported: a create may be about to use it');
    clock += 61_000;
    assert.deepEqual((await t.store.prune({ maxBytes: 0 })).deleted.map((x) => x.digest), [d]);
  });
});
