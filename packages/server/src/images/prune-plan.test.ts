import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planPrune, type PruneImage } from './prune-plan.js';

const img = (digest: string, names: string[], lastUsedAt: number, blobs: string[], diskBytes = 100): PruneImage => ({ digest, names, lastUsedAt, diskBytes, blobs });
const bytes = (m: Record<string, number>) => new Map(Object.entries(m));

describe('planPrune', () => {
  it('deletes unnamed images nobody uses, and reports blobs left unreferenced', () => {
    const plan = planPrune({
      images: [img('a', [], 1, ['m1', 'l1']), img('b', ['b'], 2, ['m2', 'l1']), img('c', [], 3, ['m3'])],
      protect: new Set(['c']),
      blobBytes: bytes({ m1: 1, m2: 1, m3: 1, l1: 50, stray: 7 }),
    });
    assert.deepEqual(plan.deletions, [{ digest: 'a', reason: 'unnamed' }]);
    assert.deepEqual([...plan.unreferencedBlobs].sort(), ['m1', 'stray']);
    assert.equal(plan.totalBytes, 100 + 100 + 1 + 1 + 50, 'b and c rootfs, m2, m3, shared l1 once');
  });

  it('evicts least recently used first until under the cap, skipping protected images', () => {
    const plan = planPrune({
      images: [img('old', ['o'], 1, ['x']), img('inuse', ['i'], 0, ['y']), img('new', ['n'], 9, ['z'])],
      protect: new Set(['inuse']),
      blobBytes: bytes({ x: 10, y: 10, z: 10 }),
      maxBytes: 230,
    });
    assert.deepEqual(plan.deletions, [{ digest: 'old', reason: 'lru' }]);
    assert.equal(plan.totalBytes, 220);
  });

  it('frees a shared blob only with the last image that references it', () => {
    const plan = planPrune({
      images: [img('a', ['a'], 1, ['s', 'a1']), img('b', ['b'], 2, ['s', 'b1'])],
      protect: new Set(),
      blobBytes: bytes({ s: 1000, a1: 1, b1: 1 }),
      maxBytes: 1102,
    });
    assert.deepEqual(plan.deletions.map((d) => d.digest), ['a']);
    assert.equal(plan.totalBytes, 100 + 1000 + 1);
    assert.deepEqual(plan.unreferencedBlobs, ['a1']);
  });

  it('stops when only protected images remain, even over the cap', () => {
    const plan = planPrune({ images: [img('p', ['p'], 1, [])], protect: new Set(['p']), blobBytes: bytes({}), maxBytes: 0 });
    assert.deepEqual(plan.deletions, []);
    assert.equal(plan.totalBytes, 100);
  });
});
