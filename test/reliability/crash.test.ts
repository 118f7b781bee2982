// kill -9 of shedd at any moment loses nothing. A real shedd (test/e2e/shedd.ts) with real
// crun is killed: while sandboxes idle, while a process streams output, and at every fault
// point of create, delete and stop (core/faults.ts, armed through SHED_FAULTS). After each
// restart: every sandbox that existed answers exec, a cut-short create leaves no trace, a
// cut-short delete is finished, a cut-short stop is finished, and the host holds kernel state
// (directories, runtime containers, cgroups, mounts, processes) for exactly the sandboxes
// that should have it. test/e2e/restart.test.ts covers adoption of a single sandbox and the
// orphan sweep; this file covers the crash at every step.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROUTES, routePath } from '@shed/protocol/client';
import { openDb, type FaultPoint } from '@shed/server';
import { Shed } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { isRunning } from '../helpers/procs.js';
import { raw } from '../helpers/raw-http.js';
import { e2eUnavailable, useShedd } from '../e2e/shedd.js';
import { kernelState } from './kernel-state.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# crash tests skipped: ${skip}`);
useLeakCheck();

describe('reliability: kill -9 of shedd at every step', { skip }, () => {
  const fx = useShedd('shed-crash-');
  /** The next shedd SIGKILLs itself at `fault`; without one, it runs clean. */
  const restart = (how: 'kill9' | 'stop', fault?: FaultPoint): Promise<void> =>
    fx.restart(how, { env: fault === undefined ? {} : { SHED_ALLOW_FAULTS: '1', SHED_FAULTS: `${fault}=kill` } });

  /** Runs `action` on a shedd armed to SIGKILL itself at `point`, then starts a clean one. */
  const crashAt = async (point: FaultPoint, action: (s: Shed) => Promise<unknown>): Promise<void> => {
    await restart('stop', point);
    const pid = fx.d.pid;
    await assert.rejects(action(fx.shed), 'the request dies with shedd');
    for (let i = 0; i < 200 && (await isRunning(pid)); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await isRunning(pid), false, `shedd died at ${point}`);
    await restart('kill9');
  };

  /** Every row answers as it should and the host holds exactly what the rows say. */
  const expectConsistent = async (want: { running: readonly string[]; stopped?: readonly string[] }): Promise<void> => {
    const list = await fx.shed.sandboxes.list();
    const byName = new Map(list.map((s) => [s.info.name ?? s.id, s]));
    assert.deepEqual([...byName.keys()].sort(), [...want.running, ...(want.stopped ?? [])].sort(), 'the sandboxes listed');
    const runningIds: string[] = [];
    for (const name of want.running) {
      const sb = byName.get(name);
      assert.equal(sb?.info.state, 'running', `${name} is running`);
      runningIds.push(sb?.id ?? '');
    }
    for (const name of want.stopped ?? []) assert.equal(byName.get(name)?.info.state, 'stopped', `${name} is stopped`);
    // Exec in all of them at once: each answers with its own name.
    await Promise.all(want.running.map(async (name) => {
      const r = await byName.get(name)?.exec(['cat', '/etc/hostname-check']);
      assert.equal(r?.stdout, name, `exec in ${name}`);
    }));
    const k = await kernelState(fx.dirs);
    const all = list.map((s) => s.id).sort();
    runningIds.sort();
    assert.deepEqual(k.stateDirs, all, 'a writable layer for each sandbox, no other');
    assert.deepEqual(k.runDirs, runningIds, 'run dirs of running sandboxes only');
    assert.deepEqual(k.containers, runningIds, 'runtime containers of running sandboxes only');
    assert.deepEqual(k.cgroups, runningIds, 'cgroups of running sandboxes only');
    assert.deepEqual(k.mounts, runningIds, 'mounts of running sandboxes only');
    assert.deepEqual(k.withProcesses, runningIds, 'processes of running sandboxes only');
    const ops = await pendingOperations();
    assert.equal(ops, 0, 'no operation left pending');
  };

  /** Pending operations in the database (opened read-only beside the running daemon). */
  const pendingOperations = async (): Promise<number> => {
    const db = openDb({ path: `${fx.dirs.dataDir}/shed.db` });
    try {
      const row: unknown = db.prepare("SELECT count(*) AS n FROM operations WHERE state = 'pending'").get();
      assert.ok(typeof row === 'object' && row !== null && 'n' in row && typeof row.n === 'number');
      return row.n;
    } finally {
      db.close();
    }
  };

  const make = async (name: string): Promise<void> => {
    const sb = await fx.shed.sandboxes.create({ name });
    await sb.files.write('/etc/hostname-check', name);
  };

  const idle = ['idle-1', 'idle-2', 'idle-3'];
  const running = [...idle];

  before(async () => {
    for (const name of idle) await make(name);
  });

  // After the fixture deleted every sandbox and stopped shedd.
  after(async () => {
    const k = await kernelState(fx.dirs);
    assert.deepEqual(Object.values(k).flat(), [], 'nothing of any sandbox is left after the deletes');
  });

  it('kill -9 with several idle sandboxes: all are adopted, the same processes, exec works in each', async () => {
    const pids = new Map<string, number>();
    for (const s of await fx.shed.sandboxes.list()) pids.set(s.id, Number((await s.exec(['sh', '-c', 'sleep 1000 >/dev/null 2>&1 & echo $!'])).stdout));
    await restart('kill9');
    await expectConsistent({ running });
    for (const [id, pid] of pids) {
      const r = await (await fx.shed.sandboxes.get(id)).exec(['sh', '-c', `kill -0 ${pid} && echo alive`]);
      assert.equal(r.stdout, 'alive\n', `the background process of ${id} survived`);
    }
  });

  for (const point of ['create.after-intent', 'create.after-runtime', 'create.after-driver'] as const) {
    it(`kill -9 in a create at ${point}: rolled back, nothing left, the others untouched`, async () => {
      await crashAt(point, (s) => s.sandboxes.create({ name: `half-${point}` }));
      await expectConsistent({ running });
      // The name is free again: the rolled-back create did not keep it.
      await make(`half-${point}`);
      await (await fx.shed.sandboxes.get(`half-${point}`)).delete();
    });
  }

  it('a create cut short by kill -9 and retried with its idempotency key runs anew, once', async () => {
    const key = `retry-${process.pid}`;
    await crashAt('create.after-driver', (s) => s.sandboxes.create({ name: 'retried', idempotencyKey: key }));
    await expectConsistent({ running });
    const sb = await fx.shed.sandboxes.create({ name: 'retried', idempotencyKey: key });
    assert.equal(sb.info.state, 'running');
    assert.equal((await fx.shed.sandboxes.create({ name: 'retried', idempotencyKey: key })).id, sb.id, 'a second retry returns the same sandbox');
    await sb.delete();
  });

  it('kill -9 in a start (runtime up, handles not saved): stopped again with its kernel state released, and it starts', async () => {
    await make('restarted');
    await (await fx.shed.sandboxes.get('restarted')).stop({ graceMs: 0 });
    await crashAt('create.after-runtime', async (s) => (await s.sandboxes.get('restarted')).start());
    await expectConsistent({ running, stopped: ['restarted'] });
    const sb = await fx.shed.sandboxes.get('restarted');
    await sb.start();
    await expectConsistent({ running: [...running, 'restarted'] });
    await sb.delete();
  });

  for (const point of ['delete.after-intent', 'teardown.after-kill', 'delete.after-destroy'] as const) {
    it(`kill -9 in a delete at ${point}: the next shedd finishes the delete`, async () => {
      await make(`doomed-${point}`);
      await crashAt(point, async (s) => (await s.sandboxes.get(`doomed-${point}`)).delete());
      await expectConsistent({ running });
    });
  }

  for (const point of ['stop.after-intent', 'teardown.after-kill', 'stop.after-driver'] as const) {
    it(`kill -9 in a stop at ${point}: stopped with a reason, released, and it starts again`, async () => {
      const name = `stopping-${point}`;
      await make(name);
      await crashAt(point, async (s) => (await s.sandboxes.get(name)).stop({ graceMs: 100 }));
      await expectConsistent({ running, stopped: [name] });
      const sb = await fx.shed.sandboxes.get(name);
      assert.ok((sb.info.stateReason ?? '') !== '', 'a stopped sandbox says why');
      await sb.start();
      assert.equal(await sb.files.readText('/etc/hostname-check'), name, 'its writable layer survived');
      await expectConsistent({ running: [...running, name] });
      await sb.delete();
    });
  }

  it('the fault variable alone arms nothing', async () => {
    await fx.restart('stop', { env: { SHED_FAULTS: 'create.after-intent=kill' } });
    await make('unarmed');
    const health = await raw(fx.d.socketPath, { method: 'GET', path: routePath(ROUTES.health, {}) });
    assert.equal(health.status, 200);
    await (await fx.shed.sandboxes.get('unarmed')).delete();
    await expectConsistent({ running });
  });
});
