import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShedError } from '../core/errors.js';
import type { ImageDigest } from '../core/ids.js';
import { lowersOf, needsFlatten, newLayerId, type LayerId, type NewLayer } from '../core/layers.js';
import { openDb } from './db.js';
import { SqliteImageRepo } from './images-repo.js';
import { SqliteLayerRepo } from './layers-repo.js';

const IMG = `sha256:${'a'.repeat(64)}` as ImageDigest; // Cast: 64 hex characters form a digest.

function setup(): SqliteLayerRepo {
  const db = openDb({ path: ':memory:' });
  new SqliteImageRepo(db).putImage({ digest: IMG, config: { env: [], workingDir: '/' }, source: 'dir', diskBytes: 1, createdAt: 1, layers: [] }, [], ['img']);
  return new SqliteLayerRepo(db);
}
const layer = (parent: LayerId | null, over: Partial<NewLayer> = {}): NewLayer =>
  ({ id: newLayerId(), parent, imageDigest: IMG, standalone: false, method: 'copy', diskBytes: 4096, createdAt: 1, ...over });
const failed = (code: string) => (err: unknown) => err instanceof ShedError && err.code === code;

describe('SqliteLayerRepo', () => {
  it('records chains with their depth and walks them topmost first', () => {
    const repo = setup();
    const a = repo.putLayer(layer(null));
    const b = repo.putLayer(layer(a.id));
    const c = repo.putLayer(layer(b.id, { method: 'reflink' }));
    assert.equal(c.depth, 3);
    assert.deepEqual(repo.chain(c.id).map((l) => l.id), [c.id, b.id, a.id]);
    assert.equal(repo.getLayer(c.id)?.method, 'reflink');
    assert.throws(() => repo.putLayer(layer(newLayerId())), failed('not_found'));
    assert.throws(() => repo.chain(newLayerId()), failed('not_found'));
  });

  it('lists the holders of a layer and the layers held by a kind of holder', () => {
    const repo = setup();
    const a = repo.putLayer(layer(null));
    const b = repo.putLayer(layer(a.id));
    repo.addRef({ layer: a.id, kind: 'snapshot', holder: 'sb-000000000001' });
    repo.addRef({ layer: a.id, kind: 'sandbox', holder: 'sb-000000000002' });
    repo.addRef({ layer: b.id, kind: 'sandbox', holder: 'sb-000000000003' });
    assert.deepEqual(repo.refsOf(a.id).map((r) => [r.kind, r.holder]), [['sandbox', 'sb-000000000002'], ['snapshot', 'sb-000000000001']]);
    assert.deepEqual(repo.heldBy('snapshot').map((l) => l.id), [a.id]);
    assert.deepEqual(repo.heldBy('sandbox').map((l) => l.id).sort(), [a.id, b.id].sort());
    assert.deepEqual(repo.heldBy('pool'), []);
    assert.deepEqual(repo.refsOf(newLayerId()), []);
  });

  it('counts holders and layers above, and removes only what nothing holds', () => {
    const repo = setup();
    const a = repo.putLayer(layer(null));
    const b = repo.putLayer(layer(a.id));
    repo.addRef({ layer: b.id, kind: 'snapshot', holder: 'snap-1' });
    repo.addRef({ layer: b.id, kind: 'snapshot', holder: 'snap-1' });
    repo.addRef({ layer: b.id, kind: 'sandbox', holder: 'sb-000000000001' });
    assert.equal(repo.refCount(b.id), 2);
    assert.equal(repo.refCount(a.id), 1, 'the layer above holds it');
    assert.deepEqual(repo.unreferenced(), []);
    assert.throws(() => repo.removeLayer(a.id), failed('failed_precondition'));
    assert.equal(repo.removeRef({ layer: b.id, kind: 'snapshot', holder: 'snap-1' }), true);
    assert.equal(repo.removeRef({ layer: b.id, kind: 'snapshot', holder: 'snap-1' }), false);
    repo.removeRef({ layer: b.id, kind: 'sandbox', holder: 'sb-000000000001' });
    assert.deepEqual(repo.unreferenced().map((l) => l.id), [b.id]);
    repo.removeLayer(b.id);
    assert.deepEqual(repo.unreferenced().map((l) => l.id), [a.id]);
    assert.throws(() => repo.addRef({ layer: b.id, kind: 'pool', holder: 'p' }), failed('not_found'));
  });
});

describe('layer chains', () => {
  it('flatten past the maximum depth', () => {
    const at = (depth: number) => ({ ...layer(null), depth });
    assert.equal(needsFlatten(null, 8), false);
    assert.equal(needsFlatten(at(7), 8), false);
    assert.equal(needsFlatten(at(8), 8), true);
  });

  it('lowers end with the image rootfs unless the chain is standalone', () => {
    const top = { ...layer(null), depth: 1 };
    const flat = { ...layer(null, { standalone: true }), depth: 1 };
    assert.deepEqual(lowersOf([top], (id) => `/l/${id}`, '/img'), [`/l/${top.id}`, '/img']);
    assert.deepEqual(lowersOf([top, flat], (id) => `/l/${id}`, '/img'), [`/l/${top.id}`, `/l/${flat.id}`]);
  });
});
