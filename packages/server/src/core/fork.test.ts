import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShedError } from './errors.js';
import { cutShortForks, forkOf, type ForkHooks } from './fork.js';
import { FORK_IN_FLIGHT } from './snapshots.js';
import { newSandboxId, type ImageDigest, type SandboxId } from './ids.js';
import { newLayerId, type LayerId, type LayerRecord, type LayerRef, type LayerRepo, type NewLayer } from './layers.js';
import type { CreateSandboxCommand } from './sandbox-spec.js';
import type { Persistence, SandboxRecord } from './sandboxes.js';

// forkOf's rules (count, names, all or none, the in-flight hold) with an in-memory layer
// store and fake creates; test/e2e/snapshots.test.ts runs forks against a real shedd.

const IMG = `sha256:${'b'.repeat(64)}` as ImageDigest; // Cast: 64 hex characters form a digest.

class MemoryLayers implements LayerRepo {
  readonly layers = new Map<LayerId, LayerRecord>();
  refs: LayerRef[] = [];
  putLayer(l: NewLayer): LayerRecord {
    const r = { ...l, depth: 1 };
    this.layers.set(l.id, r);
    return r;
  }
  getLayer(id: LayerId): LayerRecord | undefined {
    return this.layers.get(id);
  }
  chain(id: LayerId): LayerRecord[] {
    const l = this.layers.get(id);
    return l === undefined ? [] : [l];
  }
  addRef(ref: LayerRef): void {
    this.refs.push(ref);
  }
  removeRef(ref: LayerRef): boolean {
    const before = this.refs.length;
    this.refs = this.refs.filter((r) => !(r.layer === ref.layer && r.kind === ref.kind && r.holder === ref.holder));
    return this.refs.length < before;
  }
  refCount(id: LayerId): number {
    return this.refsOf(id).length;
  }
  refsOf(id: LayerId): LayerRef[] {
    return this.refs.filter((r) => r.layer === id);
  }
  heldBy(kind: LayerRef['kind']): LayerRecord[] {
    return [...this.layers.values()].filter((l) => this.refs.some((r) => r.layer === l.id && r.kind === kind));
  }
  unreferenced(): LayerRecord[] {
    return [];
  }
  removeLayer(id: LayerId): void {
    this.layers.delete(id);
  }
}

function setup(): { store: Persistence; layers: MemoryLayers; snap: LayerId } {
  const layers = new MemoryLayers();
  const snap = layers.putLayer({ id: newLayerId(), parent: null, imageDigest: IMG, standalone: false, method: 'copy', diskBytes: 1, createdAt: 1 }).id;
  layers.addRef({ layer: snap, kind: 'snapshot', holder: 'sb-000000000001' });
  const unused = (): never => assert.fail('forkOf only uses the layer store');
  // Cast: forkOf reads only `layers`; the sandbox and operation repos are never called.
  const store = { layers, sandboxes: new Proxy({}, { get: unused }), operations: new Proxy({}, { get: unused }), transaction: unused } as unknown as Persistence;
  return { store, layers, snap };
}

function hooks(failAt?: number): ForkHooks & { made: CreateSandboxCommand[]; removed: SandboxId[]; forkedIds: SandboxId[] } {
  const made: CreateSandboxCommand[] = [];
  const removed: SandboxId[] = [];
  const forked: SandboxId[] = [];
  return {
    made, removed, forkedIds: forked,
    create: async (cmd) => {
      const n = made.push(cmd);
      if (n === failAt) throw new ShedError('resource_exhausted', 'no room');
      // Cast: forkOf reads only the id of what create returns.
      return { id: newSandboxId() } as SandboxRecord;
    },
    remove: async (id) => {
      removed.push(id);
    },
    forked: (rec) => {
      forked.push(rec.id);
    },
  };
}

const code = (c: string) => (e: unknown) => e instanceof ShedError && e.code === c;

describe('forkOf', () => {
  it('creates count sandboxes on the snapshot layer and releases its in-flight hold', async () => {
    const { store, layers, snap } = setup();
    const h = hooks();
    const made = await forkOf(store, snap, { count: 3 }, h);
    assert.equal(made.length, 3);
    assert.deepEqual(h.made.map((c) => [c.image, c.fromLayer]), Array(3).fill([IMG, snap]));
    assert.deepEqual(h.forkedIds, made.map((r) => r.id));
    assert.deepEqual(layers.refsOf(snap).map((r) => r.kind), ['snapshot'], 'only the snapshot ref is left');
  });

  it('holds the layer while the creates run', async () => {
    const { store, layers, snap } = setup();
    let seen: string[] = [];
    await forkOf(store, snap, {}, { ...hooks(), create: async () => {
      seen = layers.refsOf(snap).map((r) => r.kind);
      return { id: newSandboxId() } as SandboxRecord; // Cast: only the id is read.
    } });
    assert.deepEqual(seen, ['snapshot', 'sandbox']);
  });

  it('names the ids of its forks, chosen ahead, in its hold; cutShortForks finds those made after a crash', async () => {
    const { store, layers, snap } = setup();
    const given: SandboxId[] = [];
    let holder = '';
    await forkOf(store, snap, { count: 3 }, { ...hooks(), create: async (_cmd, id) => {
      given.push(id);
      holder = layers.refsOf(snap).find((r) => r.kind === 'sandbox')?.holder ?? '';
      return { id } as SandboxRecord; // Cast: only the id is read.
    } });
    assert.equal(holder, `${FORK_IN_FLIGHT}${given.join(',')}`);
    // As a crash would leave it: the hold, and two of the three sandboxes made.
    layers.addRef({ layer: snap, kind: 'sandbox', holder });
    const rows = new Set(given.slice(0, 2));
    // Cast: cutShortForks reads only the layer store and sandboxes.get.
    const crashed = { ...store, layers, sandboxes: { get: (id: SandboxId) => (rows.has(id) ? {} : undefined) } } as unknown as Persistence;
    assert.deepEqual(cutShortForks(crashed), given.slice(0, 2));
  });

  it('is all or none: a failed create deletes the forks already made', async () => {
    const { store, layers, snap } = setup();
    const h = hooks(2);
    await assert.rejects(forkOf(store, snap, { count: 3 }, h), code('resource_exhausted'));
    assert.equal(h.removed.length, 2);
    assert.deepEqual(h.forkedIds, []);
    assert.equal(layers.refsOf(snap).length, 1);
  });

  it('checks count, names and that the layer is a snapshot before creating anything', async () => {
    const { store, snap } = setup();
    const h = hooks();
    await assert.rejects(forkOf(store, snap, { count: 0 }, h), code('invalid_argument'));
    await assert.rejects(forkOf(store, snap, { count: 33 }, h), code('invalid_argument'));
    await assert.rejects(forkOf(store, snap, { count: 2, names: ['a'] }, h), code('invalid_argument'));
    await assert.rejects(forkOf(store, newLayerId(), {}, h), code('not_found'));
    await assert.rejects(forkOf(store, 'sb-000000000001', {}, h), code('not_found'));
    assert.equal(h.made.length, 0);
  });

  it('names the forks when names are given', async () => {
    const { store, snap } = setup();
    const h = hooks();
    await forkOf(store, snap, { names: ['x', 'y'] }, h);
    assert.deepEqual(h.made.map((c) => c.name), ['x', 'y']);
  });
});
