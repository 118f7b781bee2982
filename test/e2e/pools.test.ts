// Warm pools against a real shedd: pools from the config file and the API fill in the
// background; a matching create claims a member (createPath 'warm') with its own hostname,
// env, labels and TTL; the pool refills; the memory budget caps members; an empty pool falls
// back to a cold create; a snapshot pool's members are forks; members survive kill -9 of
// shedd (dead ones are cleaned up); removing a pool deletes its members; bad input has codes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDb } from '@shed/server';
import { ShedApiError, type PoolInfo } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { until } from '../helpers/poll.js';
import { isRunning } from '../helpers/procs.js';
import { containerHandles, e2eUnavailable, runCli, useShedd, type DaemonDirs } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e pool tests skipped: ${skip}`);
useLeakCheck();

const CONFIG = `
[pools.cfg]
image = "default"
memoryMiB = 64
targetFree = 1
max = 1

[pools.broken]
snapshot = "ly-00000000000000ff"
memoryMiB = 64
`;

const rejects = async (p: Promise<unknown>, code: string, message?: RegExp): Promise<void> =>
  assert.rejects(p, (e: unknown) => e instanceof ShedApiError && e.code === code && (message === undefined || message.test(e.message)));

describe('e2e: warm pools', { skip }, () => {
  const fx = useShedd('shed-e2e-pools-', { config: CONFIG });

  const pool = (name: string): Promise<PoolInfo> => fx.shed.pools.get(name);
  const freeAt = (name: string, n: number): Promise<PoolInfo> =>
    until(`${n} free members in pool ${name}`, async () => {
      const p = await pool(name);
      return p.free === n && p.making === 0 ? p : undefined;
    });
  const members = async (name: string): Promise<string[]> =>
    (await fx.shed.sandboxes.list({ all: true })).filter((s) => s.info.pool === name).map((s) => s.id);
  // After the fixture's cleanup: the config pool's member stays with the stopped shedd's data (like
  // any sandbox); a shedd without the config file removes it.
  after(async () => {
    await fx.start({});
    // The new shedd's replenisher deletes it too (its pool is gone): whichever comes second finds it gone.
    for (const s of await fx.shed.sandboxes.list({ all: true })) await s.delete().catch((e: unknown) => assert.ok(e instanceof ShedApiError && e.code === 'not_found'));
    fx.shed.close();
    await fx.d.stop();
  });

  it('claims members (warm path) with their own identity, refills, and hides free members from ls', async () => {
    const set = await runCli(fx.dirs, 'pool', 'set', 'py', '--image', 'default', '--memory-mib', '128', '--target-free', '2', '--max', '3');
    assert.equal(set.code, 0, set.stderr);
    await freeAt('py', 2);
    assert.equal((await fx.shed.sandboxes.list()).length, 0, 'free members are not listed by default');
    assert.equal((await members('py')).length, 2, 'list all shows them');
    assert.match(await metricsText(fx.d.socketPath), /^shed_pool_free_members\{pool="py"\} 2$/m);
    const ls = await runCli(fx.dirs, 'pool', 'ls');
    assert.match(ls.stdout, /py\s+default\s+128 MiB.*\s2\s+0\/2\/3/);

    const events = await fx.shed.events({ types: ['created'] });
    const claimStartedMs = Date.now();
    const a = await fx.shed.sandboxes.create({ memoryMiB: 128, name: 'warm-a', env: { GREETING: 'hi' }, labels: { team: 'x' }, ttlSeconds: 600 });
    for await (const e of events) {
      if (e.type !== 'created' || e.sandbox !== a.id || e.details.claimedFrom === undefined) continue;
      assert.equal(e.details.claimedFrom, 'py');
      assert.equal(e.name, 'warm-a');
      break;
    }
    events.close();
    assert.equal(a.info.createPath, 'warm');
    assert.equal(a.info.claimedFrom, 'py');
    assert.equal(a.info.pool, undefined);
    assert.equal(typeof a.info.timings.create?.['configure'], 'number', 'the claim timings show its configure round trip');
    assert.equal(a.info.timings.create?.['driver'], undefined, 'no driver phase on the warm path');
    assert.equal((await a.exec(['hostname'])).stdout, 'warm-a\n', 'the name becomes the hostname, as on a cold create');
    assert.equal(a.info.hostname, 'warm-a');
    assert.equal(typeof a.info.timings.create?.['hostname'], 'number', 'renamed from the host');
    assert.equal((await a.exec(['sh', '-c', 'echo $GREETING'])).stdout, 'hi\n');
    assert.deepEqual(a.info.labels, { team: 'x' });
    // From the claim, not from when the member was made (before the create was sent).
    assert.ok(a.info.expiresAt !== null && Date.parse(a.info.expiresAt) >= claimStartedMs + 600_000, 'the TTL counts from the claim');
    const b = await fx.shed.sandboxes.create({ memoryMiB: 128 });
    assert.equal(b.info.createPath, 'warm');
    assert.notEqual(b.id, a.id);
    assert.equal((await b.exec(['hostname'])).stdout, `${b.id}\n`, 'a later claim gets its own hostname');
    assert.equal(b.info.timings.create?.['hostname'], undefined, 'the member\'s hostname was already its id: no rename');
    assert.equal((await b.exec(['sh', '-c', 'echo ${GREETING:-unset}'])).stdout, 'unset\n', 'and not the first claim\'s env');
    assert.deepEqual((await fx.shed.sandboxes.list()).map((s) => s.id).sort(), [a.id, b.id].sort());
    const inspect = await runCli(fx.dirs, 'inspect', 'warm-a');
    assert.match(inspect.stdout, /created by: a warm claim from pool py/);
    assert.match(inspect.stdout, /configure/);

    const refilled = await freeAt('py', 2);
    assert.equal(refilled.claims, 2);
    const kept = await members('py');
    await fx.shed.pools.set('py', { image: 'default', memoryMiB: 128, targetFree: 2, max: 3, min: 1 });
    assert.deepEqual(await members('py'), kept, 'new counts keep the free members');
    const lsAll = await runCli(fx.dirs, 'ls', '--all');
    assert.equal(lsAll.stdout.match(/\(pool py\)/g)?.length, 2, 'shed ls --all shows the free members');
    assert.doesNotMatch((await runCli(fx.dirs, 'ls')).stdout, /pool py/);

    const k1 = await fx.shed.sandboxes.create({ memoryMiB: 128, idempotencyKey: 'warm-retry' });
    const k2 = await fx.shed.sandboxes.create({ memoryMiB: 128, idempotencyKey: 'warm-retry' });
    assert.equal(k1.info.createPath, 'warm');
    assert.equal(k2.id, k1.id, 'a retry with the same key returns the claimed sandbox');
    assert.equal((await pool('py')).claims, 3, 'and claims nothing more');
    await k1.delete();
    const cold = await fx.shed.sandboxes.create({ memoryMiB: 256 });
    assert.equal(cold.info.createPath, 'cold', 'a profile no pool has is created cold');
    const named = await fx.shed.sandboxes.create({ memoryMiB: 128, hostname: 'box' });
    assert.equal(named.info.createPath, 'warm', 'a hostname asked for is served warm too');
    assert.equal((await named.exec(['hostname'])).stdout, 'box\n');
    for (const s of [a, b, cold, named]) await s.delete();
    const before = await members('py');
    await fx.shed.pools.set('py', { image: 'default', memoryMiB: 160, targetFree: 2, max: 3 });
    await freeAt('py', 2);
    const after = await members('py');
    assert.equal(after.filter((m) => before.includes(m)).length, 0, 'a new profile replaces every free member');
    assert.deepEqual((await fx.shed.sandboxes.list({ all: true })).filter((s) => s.info.pool === 'py').map((s) => s.info.memoryMiB), [160, 160]);
  });

  it('keeps members within the memory budget, and an empty pool falls back to cold', async () => {
    await fx.shed.pools.set('budget', { image: 'default', memoryMiB: 96, targetFree: 4, max: 4, memoryBudgetMiB: 200 });
    const p = await freeAt('budget', 2);
    assert.equal(p.capacity, 2);
    await new Promise((r) => setTimeout(r, 1500)); // a replenisher tick or more: still two
    assert.equal((await members('budget')).length, 2);

    await fx.shed.pools.set('empty', { image: 'default', memoryMiB: 80, targetFree: 0, max: 0, memoryBudgetMiB: 0 });
    const c = await fx.shed.sandboxes.create({ memoryMiB: 80 });
    assert.equal(c.info.createPath, 'cold');
    assert.equal(c.info.claimedFrom, undefined);
    await c.delete();
    const rm = await runCli(fx.dirs, 'pool', 'rm', 'budget', 'empty');
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(await members('budget'), [], 'removing a pool deletes its free members');
    await rejects(pool('budget'), 'not_found');
  });

  it('serves forks of a snapshot from a snapshot pool', async () => {
    const src = await fx.shed.sandboxes.create({ memoryMiB: 200 });
    await src.exec(['sh', '-c', 'echo seeded > /root/seed.txt']);
    const snap = await src.snapshot();
    await src.delete();
    await fx.shed.pools.set('snap', { snapshot: snap.layerId, targetFree: 1, max: 1 });
    await freeAt('snap', 1);
    await rejects(fx.shed.snapshots.delete(snap), 'failed_precondition');
    const [fork] = await fx.shed.sandboxes.fork(snap);
    assert.ok(fork !== undefined);
    assert.equal(fork.info.createPath, 'warm');
    assert.equal(fork.info.fromSnapshot, snap.layerId);
    assert.equal(await fork.files.readText('/root/seed.txt'), 'seeded\n');
    await fork.delete();
    await fx.shed.pools.delete('snap');
    await fx.shed.snapshots.delete(snap);
  });

  it('refuses bad pool input with stable codes', async () => {
    const put = (name: string, body: unknown): Promise<Response> => fetchPool(fx.d.socketPath, name, body);
    assert.equal((await put('p', { image: 'default', colour: 'red' })).status, 400, 'unknown fields');
    await rejects(fx.shed.pools.set('p', { image: 'default', min: 3, max: 2 }), 'invalid_argument', /min \(3\) is more than max \(2\)/);
    await rejects(fx.shed.pools.set('p', { image: 'default', min: 2, memoryMiB: 256, memoryBudgetMiB: 300 }), 'invalid_argument', /too small/);
    await rejects(fx.shed.pools.set('p', {}), 'invalid_argument', /exactly one of image and snapshot/);
    await rejects(fx.shed.pools.set('p', { snapshot: 'ly-0123456789abcdef' }), 'not_found');
    await rejects(fx.shed.pools.set('cfg', { image: 'default' }), 'failed_precondition', /config file/);
    await rejects(fx.shed.pools.delete('cfg'), 'failed_precondition');
    await rejects(fx.shed.pools.delete('nope'), 'not_found');
    const cfg = await pool('cfg');
    assert.equal(cfg.origin, 'config');
  });

  it('shows a failing pool\'s last error and backs off', async () => {
    const broken = await until('the broken pool to fail', async () => {
      const p = await pool('broken');
      return p.lastError !== null ? p : undefined;
    });
    assert.equal(broken.lastError?.code, 'not_found');
    assert.match(broken.lastError?.message ?? '', /snapshot 'ly-00000000000000ff' of pool broken does not exist/);
    assert.ok(broken.failures >= 1 && broken.retryAt !== null && broken.lastError !== null, 'it backs off');
    const wait = Date.parse(broken.retryAt) - Date.parse(broken.lastError.at);
    assert.equal(wait, Math.min(60_000, 1000 * 2 ** (broken.failures - 1)), 'the retry waits 1 s, doubling per failure');
    assert.equal(broken.free, 0);
    assert.match((await runCli(fx.dirs, 'pool', 'ls')).stdout, /broken .*not_found: snapshot/);
  });

  it('a member that died is never handed out: the create goes cold and the pool refills', async () => {
    await fx.shed.pools.set('fragile', { image: 'default', memoryMiB: 88, targetFree: 1, max: 1 });
    await freeAt('fragile', 1);
    const [member] = await members('fragile');
    assert.ok(member !== undefined);
    process.kill(await initPidOf(fx.dirs, member), 'SIGKILL');
    const sb = await fx.shed.sandboxes.create({ memoryMiB: 88 });
    assert.equal(sb.info.createPath, 'cold');
    assert.notEqual(sb.id, member);
    assert.equal((await sb.exec(['true'])).exitCode, 0);
    await sb.delete();
    await until('the dead member to be replaced', async () => {
      const now = await members('fragile');
      return now.length === 1 && !now.includes(member) && (await pool('fragile')).free === 1 ? true : undefined;
    });
    await until('the dead member row to go', async () => ((await rowCount(fx.dirs, member)) === 0 ? true : undefined));
    await fx.shed.pools.delete('fragile');
  });

  it('keeps members across kill -9 of shedd; dead ones are cleaned up and replaced', async () => {
    await fx.shed.pools.set('crash', { image: 'default', memoryMiB: 72, targetFree: 2, max: 2 });
    await freeAt('crash', 2);
    const before = (await members('crash')).sort();
    const [dead, alive] = before as [string, string];
    const deadPid = await initPidOf(fx.dirs, dead);
    fx.shed.close();
    await fx.d.kill9();
    process.kill(deadPid, 'SIGKILL');
    await until('the member to die', async () => ((await isRunning(deadPid)) ? undefined : true));
    await fx.start();
    await freeAt('crash', 2);
    const after2 = await members('crash');
    assert.ok(after2.includes(alive), 'the live member is a member again');
    assert.ok(!after2.includes(dead), 'the dead one is gone');
    await until('the dead member row to go', async () => ((await rowCount(fx.dirs, dead)) === 0 ? true : undefined));
    assert.equal((await pool('cfg')).free, 1, 'the config pool is back too');
    const claimed = await fx.shed.sandboxes.create({ memoryMiB: 72 });
    assert.equal(claimed.info.createPath, 'warm');
    await claimed.delete();
    await fx.shed.pools.delete('crash');
    assert.deepEqual(await members('crash'), []);
  });
});

/** A raw PUT, for bodies the SDK's types would not let through. */
async function fetchPool(socketPath: string, name: string, body: unknown): Promise<Response> {
  const { request } = await import('node:http');
  return new Promise((done, fail) => {
    const req = request({ socketPath, method: 'PUT', path: `/v1/pools/${name}`, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => done(new Response(null, { status: res.statusCode ?? 0 })));
    });
    req.on('error', fail);
    req.end(JSON.stringify(body));
  });
}

async function metricsText(socketPath: string): Promise<string> {
  const { request } = await import('node:http');
  return new Promise((done, fail) => {
    request({ socketPath, path: '/metrics' }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => done(text));
    }).on('error', fail).end();
  });
}

async function initPidOf(dirs: DaemonDirs, id: string): Promise<number> {
  return (await containerHandles(dirs, id)).initPid;
}

async function rowCount(dirs: DaemonDirs, id: string): Promise<number> {
  const db = openDb({ path: join(dirs.dataDir, 'shed.db') });
  try {
    return db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM sandboxes WHERE id = ?').get(id)?.n ?? -1;
  } finally {
    db.close();
  }
}
