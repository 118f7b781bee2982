import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ShedError } from '../core/errors.js';
import { newSandboxId, type ImageDigest } from '../core/ids.js';
import type { SandboxRecord } from '../core/sandboxes.js';
import { openDb, type Db } from './db.js';
import { sqlitePersistence } from './persistence.js';

const DIGEST = `sha256:${'a'.repeat(64)}` as ImageDigest; // Brand cast: a well-formed digest literal.

function freshDb(): Db {
  const db = openDb({ path: ':memory:' });
  db.prepare(`INSERT INTO images (digest, config, source, disk_bytes, created_at, last_used_at)
    VALUES (?, '{}', 'builtin', 0, 0, 0)`).run(DIGEST);
  return db;
}

function record(overrides: Partial<SandboxRecord> = {}): SandboxRecord {
  return {
    id: newSandboxId(),
    name: null,
    imageDigest: DIGEST,
    driver: 'container',
    spec: {
      image: 'default', hostname: 'box', network: 'none', env: { A: '1' }, labels: { team: 'x' },
      resources: { memoryMiB: 256, cpuMillis: 1000, pidsMax: 128 },
    },
    state: 'running',
    stateReason: null,
    lastError: null,
    timings: { create: { total: 12.5 } },
    createdAt: 1,
    updatedAt: 1,
    lastActiveAt: 1,
    ...overrides,
  };
}

describe('SqliteSandboxRepo', () => {
  it('round-trips a record and finds it by name', () => {
    const p = sqlitePersistence(freshDb());
    const rec = record({ name: 'web' });
    p.sandboxes.insert(rec);
    assert.deepEqual(p.sandboxes.get(rec.id), rec);
    assert.deepEqual(p.sandboxes.getByName('web'), rec);
    assert.equal(p.sandboxes.list().length, 1);
  });

  it('rejects a second sandbox with the same name as already_exists', () => {
    const p = sqlitePersistence(freshDb());
    p.sandboxes.insert(record({ name: 'web' }));
    assert.throws(() => p.sandboxes.insert(record({ name: 'web' })), (e: unknown) => e instanceof ShedError && e.code === 'already_exists');
  });

  it('updates state, reason and error, keeping the rest', () => {
    const p = sqlitePersistence(freshDb());
    const rec = record();
    p.sandboxes.insert(rec);
    const next = p.sandboxes.update(rec.id, { state: 'stopped', stateReason: 'stopped by user', lastError: { code: 'internal', message: 'x' } });
    assert.equal(next.state, 'stopped');
    assert.deepEqual(p.sandboxes.get(rec.id), next);
    assert.deepEqual(next.timings, rec.timings);
  });

  it('reports a row whose JSON does not match its schema as internal', () => {
    const db = freshDb();
    const p = sqlitePersistence(db);
    const rec = record();
    p.sandboxes.insert(rec);
    db.prepare(`UPDATE sandboxes SET spec = '{"image":"x","extra":1}' WHERE id = ?`).run(rec.id);
    assert.throws(() => p.sandboxes.get(rec.id), (e: unknown) => e instanceof ShedError && e.code === 'internal');
  });

  it('removes a row', () => {
    const p = sqlitePersistence(freshDb());
    const rec = record();
    p.sandboxes.insert(rec);
    p.sandboxes.remove(rec.id);
    assert.equal(p.sandboxes.get(rec.id), undefined);
  });
});

describe('SqliteOperationRepo', () => {
  it('logs intent as pending and the outcome after', () => {
    const p = sqlitePersistence(freshDb());
    const id = newSandboxId();
    const op = p.operations.begin({ kind: 'create', sandboxId: id, request: { image: 'default' }, idempotencyKey: 'k1' });
    assert.equal(p.operations.pending().length, 1);
    p.operations.succeed(op.id, { id });
    assert.equal(p.operations.pending().length, 0);
    const found = p.operations.findByKey('k1');
    assert.equal(found?.state, 'done');
    assert.deepEqual(found?.result, { id });
  });

  it('rejects a reused idempotency key as already_exists', () => {
    const p = sqlitePersistence(freshDb());
    p.operations.begin({ kind: 'create', sandboxId: newSandboxId(), request: {}, idempotencyKey: 'k' });
    assert.throws(
      () => p.operations.begin({ kind: 'create', sandboxId: newSandboxId(), request: {}, idempotencyKey: 'k' }),
      (e: unknown) => e instanceof ShedError && e.code === 'already_exists',
    );
  });

  it('releases a finished operation\'s idempotency key, never a pending one\'s', () => {
    const p = sqlitePersistence(freshDb());
    const op = p.operations.begin({ kind: 'create', sandboxId: newSandboxId(), request: {}, idempotencyKey: 'k3' });
    p.operations.releaseKey(op.id);
    assert.equal(p.operations.findByKey('k3')?.id, op.id, 'a pending operation keeps its key');
    p.operations.rollBack(op.id, { code: 'unavailable', message: 'cut short' });
    p.operations.releaseKey(op.id);
    assert.equal(p.operations.findByKey('k3'), undefined);
    const again = p.operations.begin({ kind: 'create', sandboxId: newSandboxId(), request: {}, idempotencyKey: 'k3' });
    assert.equal(p.operations.findByKey('k3')?.id, again.id, 'the key can be used again');
  });

  it('records a failure with its code', () => {
    const p = sqlitePersistence(freshDb());
    const op = p.operations.begin({ kind: 'delete', sandboxId: newSandboxId(), request: {}, idempotencyKey: 'k2' });
    p.operations.fail(op.id, { code: 'unavailable', message: 'agent gone' });
    assert.deepEqual(p.operations.findByKey('k2')?.error, { code: 'unavailable', message: 'agent gone' });
  });

  it('records activity without moving it back or touching updatedAt, and keeps expiry settings in the spec', () => {
    const p = sqlitePersistence(freshDb());
    const rec = record({ spec: { ...record().spec, ttlSeconds: 600, idleTimeoutSeconds: 60, onExpire: 'stop' } });
    p.sandboxes.insert(rec);
    p.sandboxes.touch(rec.id, 50);
    p.sandboxes.touch(rec.id, 20);
    const got = p.sandboxes.get(rec.id);
    assert.equal(got?.lastActiveAt, 50);
    assert.equal(got?.updatedAt, 1);
    assert.deepEqual([got?.spec.ttlSeconds, got?.spec.idleTimeoutSeconds, got?.spec.onExpire], [600, 60, 'stop']);
  });
});
