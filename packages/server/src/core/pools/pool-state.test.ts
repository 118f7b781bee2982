import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageDigest, SandboxId } from '../ids.js';
import type { LayerId } from '../layers.js';
import { buildPoolSpec } from './pool-spec.js';
import { PoolState } from './pool-state.js';

// Well-formed ids and digests: PoolState only compares them.
const id = (n: number): SandboxId => `sb-${String(n).padStart(12, '0')}` as SandboxId;
const digest = (c: string): ImageDigest => `sha256:${c.repeat(64)}` as ImageDigest;
const resources = { memoryMiB: 128, cpuMillis: 1000, pidsMax: 512 };

describe('PoolState', () => {
  it('fits members of its source and profile only', () => {
    const p = new PoolState(buildPoolSpec('p', { image: 'default', memoryMiB: 128 }), 'api', 0);
    assert.equal(p.fits({ image: 'default', resources, network: 'none' }), true);
    assert.equal(p.fits({ image: 'default', resources: { ...resources, memoryMiB: 256 }, network: 'none' }), false);
    assert.equal(p.fits({ image: 'debian', resources, network: 'none' }), false);
    assert.equal(p.fits({ image: 'default', fromLayer: 'ly-0123456789abcdef' as LayerId, resources, network: 'none' }), false);
    const s = new PoolState(buildPoolSpec('s', { snapshot: 'ly-0123456789abcdef', memoryMiB: 128 }), 'api', 0);
    assert.equal(s.fits({ image: digest('a'), fromLayer: 'ly-0123456789abcdef' as LayerId, resources, network: 'none' }), true);
    assert.equal(s.fits({ image: digest('a'), resources, network: 'none' }), false);
  });

  it('retires members of an older image digest when a newer one joins', () => {
    const p = new PoolState(buildPoolSpec('p', { image: 'default', targetFree: 3, max: 3 }), 'api', 0);
    p.addFree({ id: id(1), digest: digest('a') });
    p.addFree({ id: id(2), digest: digest('a') });
    p.addFree({ id: id(3), digest: digest('b') });
    assert.deepEqual(p.free.map((f) => f.id), [id(3)]);
    assert.deepEqual(p.retire, [id(1), id(2)]);
  });

  it('moves dead members and those past capacity to retire in its view', () => {
    const p = new PoolState(buildPoolSpec('p', { image: 'default', memoryMiB: 100, targetFree: 3, max: 3 }), 'api', 0);
    for (const n of [1, 2, 3]) p.addFree({ id: id(n), digest: digest('a') });
    p.spec = buildPoolSpec('p', { image: 'default', memoryMiB: 100, targetFree: 3, max: 3, memoryBudgetMiB: 150 });
    const v = p.view((m) => m !== id(2));
    assert.deepEqual(p.free.map((f) => f.id), [id(3)], 'the dead one goes, then the oldest past capacity 1');
    assert.equal(v.capacity, 1);
    assert.deepEqual(v.retire, [id(2), id(1)]);
  });

  it('records failures with a doubling back-off and clears them on success', () => {
    const p = new PoolState(buildPoolSpec('p', { image: 'default' }), 'api', 0);
    p.failed('unavailable', 'busy', 10_000);
    p.failed('unavailable', 'busy', 20_000);
    assert.equal(p.failures, 2);
    assert.equal(p.retryAt, 22_000);
    assert.deepEqual(p.lastError, { code: 'unavailable', message: 'busy', at: 20_000 });
    p.succeeded();
    assert.equal(p.failures, 0);
    assert.equal(p.lastError, null);
  });
});
