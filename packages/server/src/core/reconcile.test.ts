import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { AgentClient } from '@shed/protocol';
import type { Driver, DriverHandles, KnownIds, RunningSandbox, SweepRequest } from './driver.js';
import { newOperationId, newSandboxId, type ImageDigest, type SandboxId } from './ids.js';
import { reconcile, type ReconcileContext } from './reconcile.js';
import type { OperationRecord, Persistence, SandboxPatch, SandboxRecord } from './sandboxes.js';
import type { SandboxState } from './state.js';

// The driver and the store are fakes here; test/e2e/restart.test.ts runs the same paths
// against a real shedd, the container driver and SQLite.

const DIGEST = `sha256:${'a'.repeat(64)}` as ImageDigest; // Brand cast: a well-formed digest literal.

function record(state: SandboxState): SandboxRecord {
  return {
    id: newSandboxId(), name: null, imageDigest: DIGEST, driver: 'fake', state, stateReason: null, lastError: null, timings: {},
    createdAt: 0, updatedAt: 0, lastActiveAt: null,
    spec: { image: 'default', hostname: 'h', resources: { memoryMiB: 1, cpuMillis: 1, pidsMax: 1 }, network: 'none', env: {}, labels: {} },
  };
}

function memoryStore(rows: SandboxRecord[], ops: OperationRecord[]): Persistence {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const opState = new Map(ops.map((o) => [o.id, o.state]));
  return {
    sandboxes: {
      insert: (r) => void byId.set(r.id, r),
      update: (id: SandboxId, p: SandboxPatch) => {
        const cur = byId.get(id);
        if (cur === undefined) throw new Error('gone');
        const next = { ...cur, ...p } as SandboxRecord; // A patch's fields are a record's fields.
        byId.set(id, next);
        return next;
      },
      get: (id) => byId.get(id),
      getByName: () => undefined,
      list: () => [...byId.values()],
      remove: (id) => void byId.delete(id),
      touch: () => undefined,
    },
    operations: {
      begin: () => { throw new Error('not used'); },
      succeed: (id) => void opState.set(id, 'done'),
      fail: (id) => void opState.set(id, 'failed'),
      rollBack: (id) => void opState.set(id, 'rolled_back'),
      findByKey: () => undefined,
      releaseKey: () => undefined,
      pending: () => ops.filter((o) => opState.get(o.id) === 'pending'),
    },
    transaction: (fn) => fn(),
  };
}

/** A driver whose sandboxes are alive when listed in `alive`; it records what it was asked to do. */
class FakeDriver implements Driver {
  readonly name = 'fake';
  readonly calls: string[] = [];
  sweptWith: KnownIds | undefined;
  constructor(private readonly alive: ReadonlySet<string>) {}
  async probe() { return { usable: true, notes: [], problems: [] }; }
  async create(): Promise<RunningSandbox> { throw new Error('not used'); }
  async adopt(h: DriverHandles): Promise<RunningSandbox | null> {
    this.calls.push(`adopt ${h.id}`);
    return this.alive.has(h.id) ? { handles: h, agent: {} as AgentClient } : null; // The fake agent is never called.
  }
  async liveness(h: DriverHandles) { return this.alive.has(h.id) ? { alive: true as const } : { alive: false as const, reason: 'its processes were gone' }; }
  async isAlive(h: DriverHandles) { return this.alive.has(h.id); }
  async workloadProcesses() { return 0; }
  async pause() {}
  async resume() {}
  async stop(h: DriverHandles) { this.calls.push(`stop ${h.id} ${h.data['bare'] === true ? 'bare' : 'saved'}`); }
  async destroy(h: DriverHandles) { this.calls.push(`destroy ${h.id}`); }
  async release() {}
  async sweep(req: SweepRequest) {
    this.sweptWith = req.knownIds;
    return ['directory /x'];
  }
}

function context(driver: Driver, store: Persistence, withHandles: ReadonlySet<string>): ReconcileContext & { attached: string[]; removed: string[] } {
  const attached: string[] = [];
  const removed: string[] = [];
  return {
    driver, store, runRoot: '/run/x', stateRoot: '/data/x', attached, removed,
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    savedHandles: async (id) => (withHandles.has(id) ? { driver: 'fake', id, data: {} } : null),
    bareHandles: (id) => ({ driver: 'fake', id, data: { bare: true } }),
    attach: async (rec) => void attached.push(rec.id),
    removeDirs: async (id) => void removed.push(id),
    knownIds: { has: (id) => store.sandboxes.get(id) !== undefined },
  };
}

describe('reconcile', () => {
  it('adopts live sandboxes and marks dead ones stopped with a reason, releasing them', async () => {
    const live = record('running');
    const dead = record('running');
    const lost = record('running'); // no handles.json (host rebooted): released from bare handles
    const starting = record('creating'); // a start cut short after the runtime came up
    const stopped = record('stopped');
    const store = memoryStore([live, dead, lost, starting, stopped], []);
    const driver = new FakeDriver(new Set([live.id, starting.id]));
    const ctx = context(driver, store, new Set([live.id, dead.id, starting.id]));
    const r = await reconcile(ctx);
    assert.deepEqual(new Set(r.adopted), new Set([live.id, starting.id]));
    assert.deepEqual(new Set(r.stopped), new Set([dead.id, lost.id]));
    assert.deepEqual(new Set(ctx.attached), new Set([live.id, starting.id]));
    assert.equal(store.sandboxes.get(starting.id)?.state, 'running');
    for (const id of [dead.id, lost.id]) {
      assert.equal(store.sandboxes.get(id)?.state, 'stopped');
      assert.match(store.sandboxes.get(id)?.stateReason ?? '', /processes were gone/);
    }
    assert.ok(driver.calls.includes(`stop ${dead.id} saved`));
    assert.ok(driver.calls.includes(`stop ${lost.id} bare`));
    assert.ok(!driver.calls.some((c) => c.includes(stopped.id)), 'a stopped sandbox is left alone');
  });

  it('finishes stops and deletes, rolls back creates cut short, then sweeps with the ids that remain', async () => {
    const stopping = record('stopping');
    const deleting = record('deleting');
    const halfMade = newSandboxId();
    const createOp: OperationRecord = {
      id: newOperationId(), kind: 'create', sandboxId: halfMade, idempotencyKey: null, state: 'pending', request: {}, result: null,
      error: null, createdAt: 0, finishedAt: null,
    };
    const store = memoryStore([stopping, deleting], [createOp]);
    const driver = new FakeDriver(new Set([stopping.id]));
    const ctx = context(driver, store, new Set([stopping.id]));
    const r = await reconcile(ctx);
    assert.equal(store.sandboxes.get(stopping.id)?.state, 'stopped');
    assert.equal(store.sandboxes.get(stopping.id)?.stateReason, 'stopped on request');
    assert.ok(!driver.calls.includes(`adopt ${stopping.id}`), 'a sandbox being stopped is stopped, not adopted');
    assert.deepEqual(r.deleted, [deleting.id]);
    assert.equal(store.sandboxes.get(deleting.id), undefined);
    assert.deepEqual(r.rolledBack, [halfMade]);
    assert.ok(driver.calls.includes(`destroy ${halfMade}`));
    assert.deepEqual(new Set(ctx.removed), new Set([deleting.id, halfMade]));
    assert.deepEqual(store.operations.pending(), [], 'no operation is left pending');
    assert.deepEqual([stopping.id, deleting.id, halfMade].map((id) => driver.sweptWith?.has(id)), [true, false, false]);
    assert.deepEqual(r.swept, ['directory /x']);
  });

  it('stops a live sandbox whose agent does not come back', async () => {
    const mute = record('running');
    const store = memoryStore([mute], []);
    const driver = new FakeDriver(new Set([mute.id]));
    driver.adopt = async () => { throw new Error('the agent did not connect'); };
    const r = await reconcile(context(driver, store, new Set([mute.id])));
    assert.deepEqual(r.stopped, [mute.id]);
    assert.match(store.sandboxes.get(mute.id)?.stateReason ?? '', /agent did not reconnect/);
  });

  it('a sandbox that cannot be re-linked is stopped with why, and the others are still reconciled', async () => {
    const broken = record('running');
    const fine = record('running');
    const store = memoryStore([broken, fine], []);
    const driver = new FakeDriver(new Set([broken.id, fine.id]));
    const ctx = context(driver, store, new Set([broken.id, fine.id]));
    const attach = ctx.attach;
    const r = await reconcile({ ...ctx, attach: async (rec, running) => {
      if (rec.id === broken.id) throw new Error('its image is gone');
      await attach(rec, running);
    } });
    assert.deepEqual(r.adopted, [fine.id]);
    assert.deepEqual(r.stopped, [broken.id]);
    assert.match(store.sandboxes.get(broken.id)?.stateReason ?? '', /could not re-link it at start: its image is gone/);
  });
});
