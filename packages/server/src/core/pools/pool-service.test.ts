// PoolService's claim decisions on a fake seam: an in-memory store and fake agents. The real
// path (shedd, the container driver, SQLite) is test/e2e/pools.test.ts.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AgentPort } from '../agent-port.js';
import { ShedError } from '../errors.js';
import { newOperationId, newSandboxId, type ImageDigest, type SandboxId } from '../ids.js';
import { LiveSandbox } from '../live-sandbox.js';
import type { CreateSandboxCommand } from '../sandbox-spec.js';
import type { OperationRecord, Persistence, SandboxRecord } from '../sandboxes.js';
import type { MemberClaim, StoredPool } from './pool-repo.js';
import { PoolService } from './pool-service.js';

const DIGEST = `sha256:${'a'.repeat(64)}` as ImageDigest; // well-formed; only compared

function world(opts: { configureFails?: boolean; rename?: boolean } = {}) {
  const rows = new Map<SandboxId, SandboxRecord>();
  const live = new Map<SandboxId, LiveSandbox>();
  const configured: Record<string, string>[] = [];
  const renamed: string[] = [];
  const deleted: SandboxId[] = [];
  const agent = {
    configure: async (o: { env?: Record<string, string> }) => {
      if (opts.configureFails === true) throw new ShedError('unavailable', 'the agent link is gone');
      configured.push({ ...o.env });
    },
  } as unknown as AgentPort; // only configure is called on a claim
  const op = (): OperationRecord => ({ id: newOperationId() } as OperationRecord); // the claim reads only the id
  const store = {
    sandboxes: { list: () => [...rows.values()], get: (id: SandboxId) => rows.get(id) },
    operations: { begin: op, succeed: () => undefined, fail: () => undefined, releaseKey: () => undefined },
    transaction: <T>(fn: () => T): T => fn(),
    pools: {
      list: (): StoredPool[] => [],
      put: (spec: StoredPool['spec'], now: number): StoredPool => ({ spec, createdAt: now, updatedAt: now }),
      remove: () => true,
      claimMember: (id: SandboxId, c: MemberClaim): SandboxRecord => {
        const { pool: _member, ...rest } = rows.get(id) ?? assert.fail('no member row');
        const rec = { ...rest, name: c.name, spec: c.spec, claimedFrom: c.claimedFrom, timings: c.timings };
        rows.set(id, rec);
        return rec;
      },
    },
  } as unknown as Persistence; // the calls PoolService and the claim make
  const pools = new PoolService({
    store, log: { info: () => undefined, warn: () => undefined, error: () => undefined }, events: { publish: () => undefined }, tickMs: 5,
    hooks: {
      createMember: async (pool: string, cmd: CreateSandboxCommand): Promise<SandboxRecord> => {
        const id = newSandboxId();
        const rec = {
          id, name: null, imageDigest: DIGEST, driver: 'fake', state: 'running', stateReason: null, lastError: null, timings: {},
          createdAt: 0, updatedAt: 0, lastActiveAt: 0, pool,
          spec: { image: cmd.image, hostname: id, resources: { memoryMiB: cmd.memoryMiB ?? 512, cpuMillis: cmd.cpuMillis ?? 1000, pidsMax: cmd.pidsMax ?? 512 }, network: cmd.network ?? 'none', env: {}, labels: {} },
        } satisfies SandboxRecord;
        rows.set(id, rec);
        live.set(id, new LiveSandbox({ driver: 'fake', id, data: {} }, agent, { env: { PATH: '/bin' }, cwd: '/' }));
        return rec;
      },
      deleteMember: async (id: SandboxId) => {
        deleted.push(id);
        rows.delete(id);
        live.delete(id);
      },
      runLocked: <T>(_id: SandboxId, fn: () => Promise<T>) => fn(),
      live: (id: SandboxId) => live.get(id),
      relink: (id: SandboxId, l: LiveSandbox) => void live.set(id, l),
      claimName: () => undefined,
      releaseName: () => undefined,
      ...(opts.rename === true ? { setHostname: async (_l: LiveSandbox, h: string) => void renamed.push(h) } : {}),
    },
  });
  return { pools, rows, live, configured, renamed, deleted };
}

async function filled(w: ReturnType<typeof world>, name: string, n: number): Promise<void> {
  for (let i = 0; i < 400 && w.pools.get(name).free < n; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(w.pools.get(name).free, n);
}

let open: PoolService | undefined;
afterEach(async () => open?.close());

describe('PoolService claims', () => {
  it('claims a member whose source and profile match, with the create\'s env and name', async () => {
    const w = world({ rename: true });
    open = w.pools;
    w.pools.start([]);
    w.pools.set('py', { image: 'default', memoryMiB: 256, targetFree: 2, max: 2 });
    await filled(w, 'py', 2);
    const rec = await w.pools.claim({ image: 'default', memoryMiB: 256, name: 'box', env: { A: '1' } });
    assert.equal(rec?.claimedFrom, 'py');
    assert.equal(rec?.name, 'box');
    assert.equal(rec?.spec.hostname, 'box');
    assert.deepEqual(w.renamed, ['box'], 'renamed from the host');
    assert.deepEqual(w.configured, [{ PATH: '/bin', A: '1' }], 'one configure with the image env and the create\'s');
    assert.equal(w.pools.get('py').claims, 1);
    assert.equal(await w.pools.claim({ image: 'default', memoryMiB: 512 }), undefined, 'another profile goes cold');
    assert.equal(await w.pools.claim({ image: 'debian', memoryMiB: 256 }), undefined, 'another image goes cold');
    assert.equal(await w.pools.claim({ image: 'default', memoryMiB: 256, network: 'nat', egress: { deny: ['10.0.0.0/8'] } }), undefined, 'an egress policy of its own goes cold');
    assert.equal((await w.pools.claim({ image: DIGEST, memoryMiB: 256 }))?.claimedFrom, 'py', 'the members\' digest matches too');
  });

  it('without a renaming driver, keeps the id as hostname and sends a create asking for one cold', async () => {
    const w = world();
    open = w.pools;
    w.pools.start([]);
    w.pools.set('py', { image: 'default', targetFree: 1, max: 1 });
    await filled(w, 'py', 1);
    assert.equal(await w.pools.claim({ image: 'default', hostname: 'box' }), undefined);
    const rec = await w.pools.claim({ image: 'default', name: 'named' });
    assert.equal(rec?.spec.hostname, rec?.id);
  });

  it('retires a member whose configure fails and lets the create go cold', async () => {
    const w = world({ configureFails: true });
    open = w.pools;
    w.pools.start([]);
    w.pools.set('py', { image: 'default', targetFree: 1, max: 1 });
    await filled(w, 'py', 1);
    const [member] = [...w.rows.keys()];
    assert.equal(await w.pools.claim({ image: 'default' }), undefined);
    for (let i = 0; i < 400 && !w.deleted.includes(member as SandboxId); i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(w.deleted, [member]);
  });

  it('puts the member back when the request itself is bad', async () => {
    const w = world();
    open = w.pools;
    w.pools.start([]);
    w.pools.set('py', { image: 'default', targetFree: 1, max: 1 });
    await filled(w, 'py', 1);
    await assert.rejects(w.pools.claim({ image: 'default', name: 'sb-not-allowed' }), (e: unknown) => e instanceof ShedError && e.code === 'invalid_argument');
    assert.equal(w.pools.get('py').free, 1);
  });

  it('refuses to change or remove a config pool, and removing an API pool deletes its members', async () => {
    const w = world();
    open = w.pools;
    w.pools.start([{ name: 'cfg', source: { image: 'default' }, profile: { memoryMiB: 64, cpuMillis: 1000, pidsMax: 512, network: 'none' }, min: 0, targetFree: 0, max: 1, memoryBudgetMiB: 64 }]);
    assert.throws(() => w.pools.set('cfg', { image: 'default' }), (e: unknown) => e instanceof ShedError && e.code === 'failed_precondition');
    await assert.rejects(w.pools.remove('cfg'), (e: unknown) => e instanceof ShedError && e.code === 'failed_precondition');
    w.pools.set('py', { image: 'default', targetFree: 2, max: 2 });
    await filled(w, 'py', 2);
    await w.pools.remove('py');
    assert.equal(w.deleted.length, 2);
    assert.throws(() => w.pools.get('py'), (e: unknown) => e instanceof ShedError && e.code === 'not_found');
  });
});
