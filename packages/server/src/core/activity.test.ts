import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ActivityTracker } from './activity.js';
import { newSandboxId, type ImageDigest, type SandboxId } from './ids.js';
import type { SandboxRecord } from './sandboxes.js';

const DIGEST = `sha256:${'a'.repeat(64)}` as ImageDigest; // Brand cast: a well-formed digest literal.

describe('ActivityTracker', () => {
  it('sees every call, writes through at most once a second, and takes the later of memory and store', () => {
    const writes: [SandboxId, number][] = [];
    const t = new ActivityTracker({ touch: (id, at) => void writes.push([id, at]) });
    const id = newSandboxId();
    for (const at of [10_000, 10_400, 10_999, 11_000, 11_500]) t.touch(id, at);
    assert.deepEqual(writes, [[id, 10_000], [id, 11_000]]);
    const rec = { id, createdAt: 5, lastActiveAt: 11_000, imageDigest: DIGEST } as SandboxRecord; // Only the fields lastActiveAt reads.
    assert.equal(t.lastActiveAt(rec), 11_500);
    assert.equal(t.lastActiveAt({ ...rec, lastActiveAt: 20_000 }), 20_000, 'a later start, as stored, wins');
    assert.equal(t.lastActiveAt({ ...rec, id: newSandboxId(), lastActiveAt: null }), 5, 'an old row counts from creation');
    t.retain(new Set());
    assert.equal(t.lastActiveAt(rec), 11_000, 'forgotten once the sandbox is gone');
  });
});
