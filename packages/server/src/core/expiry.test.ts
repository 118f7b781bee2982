import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatSeconds } from '@shed/protocol';
import { dueExpiry, expiresAt } from './expiry.js';
import { newSandboxId, type ImageDigest } from './ids.js';
import type { SandboxRecord, SandboxSpec } from './sandboxes.js';
import type { SandboxState } from './state.js';

const DIGEST = `sha256:${'a'.repeat(64)}` as ImageDigest; // Brand cast: a well-formed digest literal.

function rec(state: SandboxState, expiry: Pick<SandboxSpec, 'ttlSeconds' | 'idleTimeoutSeconds' | 'onExpire'>): SandboxRecord {
  return {
    id: newSandboxId(), name: null, imageDigest: DIGEST, driver: 'fake', state, stateReason: null, lastError: null, timings: {},
    createdAt: 1_000_000, updatedAt: 1_000_000, lastActiveAt: 1_000_000,
    spec: { image: 'default', hostname: 'h', resources: { memoryMiB: 1, cpuMillis: 1, pidsMax: 1 }, network: 'none', env: {}, labels: {}, ...expiry },
  };
}

describe('expiry deadlines', () => {
  it('a TTL deletes by default, counted from creation, once it has passed', () => {
    const r = rec('running', { ttlSeconds: 10 });
    assert.equal(dueExpiry(r, r.createdAt, r.createdAt + 9_999), null);
    assert.deepEqual(dueExpiry(r, r.createdAt, r.createdAt + 10_000), {
      kind: 'ttl', action: 'delete', atMs: r.createdAt + 10_000, reason: 'expired: its TTL of 10s ended',
    });
    assert.equal(expiresAt(r), r.createdAt + 10_000);
  });

  it('a TTL that stops leaves an already stopped sandbox alone; one that deletes does not', () => {
    assert.equal(dueExpiry(rec('stopped', { ttlSeconds: 1, onExpire: 'stop' }), 0, 2_000_000), null);
    assert.equal(expiresAt(rec('stopped', { ttlSeconds: 1, onExpire: 'stop' })), null);
    assert.equal(dueExpiry(rec('stopped', { ttlSeconds: 1 }), 0, 2_000_000)?.action, 'delete');
    assert.equal(dueExpiry(rec('deleting', { ttlSeconds: 1 }), 0, 2_000_000), null, 'nothing is done to a sandbox mid-delete');
  });

  it('idle stops by default, counts from the last activity, and only while running', () => {
    const r = rec('running', { idleTimeoutSeconds: 300 });
    const last = r.createdAt + 60_000;
    assert.equal(dueExpiry(r, last, last + 299_999), null);
    const due = dueExpiry(r, last, last + 300_000);
    assert.equal(due?.kind, 'idle');
    assert.equal(due?.action, 'stop');
    assert.match(due?.reason ?? '', /^expired: idle for 5m \(no API activity and no process but PID 1\)$/);
    assert.equal(dueExpiry(rec('stopped', { idleTimeoutSeconds: 1 }), 0, 2_000_000), null);
  });

  it('onExpire applies to both, and the TTL wins when both are due', () => {
    const r = rec('running', { ttlSeconds: 5, idleTimeoutSeconds: 1, onExpire: 'delete' });
    assert.deepEqual([dueExpiry(r, r.createdAt, r.createdAt + 6000)?.kind, dueExpiry(r, r.createdAt, r.createdAt + 2000)?.action], ['ttl', 'delete']);
    assert.equal(dueExpiry(rec('running', {}), 0, Number.MAX_SAFE_INTEGER), null, 'no settings: never');
  });

  it('writes durations the way the CLI takes them', () => {
    assert.deepEqual([1, 90, 600, 5400, 86_400].map(formatSeconds), ['1s', '1m30s', '10m', '1h30m', '1d']);
  });
});
