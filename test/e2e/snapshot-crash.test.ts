// kill -9 of shedd in the middle of a snapshot (while the sandbox is frozen; after the copy,
// before the layer row), of a commit (its tars written) and of a fork (one sandbox made,
// others in flight), against a real
// shedd with fault points armed: after a restart no half-made layer (directory or row) and no
// half-made fork is left, the source sandbox runs (thawed) with its process alive, and the leak
// check finds no stray mount, cgroup or process.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDb } from '@shed/server';
import { Shed, type Sandbox } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { daemonDirs, e2eUnavailable, startShedd, type DaemonDirs, type Shedd } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e snapshot crash tests skipped: ${skip}`);
useLeakCheck();

const layerDirs = async (dirs: DaemonDirs): Promise<string[]> => readdir(join(dirs.dataDir, 'layers')).catch(() => []);

function query<T>(dirs: DaemonDirs, sql: string): T[] {
  const db = openDb({ path: join(dirs.dataDir, 'shed.db') });
  try {
    return db.prepare<[], T>(sql).all();
  } finally {
    db.close();
  }
}

const faults = (spec: string) => ({ env: { SHED_ALLOW_FAULTS: '1', SHED_FAULTS: spec } });

/** kill -9 (the fault already killed it; this waits for the exit) and a clean restart. */
async function restart(d: Shedd, shed: Shed, dirs: DaemonDirs, spec?: string): Promise<{ d: Shedd; shed: Shed }> {
  shed.close();
  await d.kill9();
  const next = await startShedd(dirs, spec === undefined ? {} : faults(spec));
  return { d: next, shed: await Shed.connect({ socketPath: next.socketPath }) };
}

async function assertUsable(sb: Sandbox, pid: number): Promise<void> {
  await sb.refresh();
  assert.equal(sb.info.state, 'running');
  assert.equal((await sb.exec(['sh', '-c', `kill -0 ${pid} && echo alive; cat /root/f`])).stdout, 'alive\nbefore\n', 'thawed, its process alive, its files there');
}

describe('e2e: kill -9 during snapshot and fork', { skip }, () => {
  it('a snapshot cut short (frozen, then after the copy) leaves no layer and the source runs on', async () => {
    const dirs = await daemonDirs('shed-e2e-snapcrash-');
    let d = await startShedd(dirs, faults('snapshot.while-frozen=kill'));
    let shed = await Shed.connect({ socketPath: d.socketPath });
    try {
      const sb = await shed.sandboxes.create({ name: 'crash-src' });
      await sb.exec(['sh', '-c', 'echo before > /root/f']);
      const bg = await sb.spawn(['sleep', '1000']);
      await assert.rejects(sb.snapshot(), 'the request dies with shedd (while the sandbox is frozen)');
      ({ d, shed } = await restart(d, shed, dirs, 'snapshot.after-copy=kill'));
      const again = await shed.sandboxes.get('crash-src');
      await assertUsable(again, bg.pid);
      assert.deepEqual(await layerDirs(dirs), []);

      await assert.rejects(again.snapshot(), 'the request dies with shedd (after the copy, before the row)');
      ({ d, shed } = await restart(d, shed, dirs));
      const third = await shed.sandboxes.get('crash-src');
      await assertUsable(third, bg.pid);
      assert.deepEqual(await layerDirs(dirs), [], 'the copied layer without a row was removed');
      assert.deepEqual(query(dirs, 'SELECT id FROM layers'), []);
      assert.deepEqual(query<{ state: string }>(dirs, "SELECT state FROM operations WHERE kind = 'snapshot'").map((o) => o.state), ['rolled_back', 'rolled_back']);
      const snap = await third.snapshot();
      assert.deepEqual(await layerDirs(dirs), [snap.layerId], 'snapshots work again');
      await third.delete();
      await shed.snapshots.delete(snap);
      assert.deepEqual(await layerDirs(dirs), []);
    } finally {
      shed.close();
      await d.stop();
    }
  });

  it('a commit cut short leaves no image, scratch or hold; the snapshot commits and deletes afterwards', async () => {
    const dirs = await daemonDirs('shed-e2e-commitcrash-');
    let d = await startShedd(dirs, faults('commit.after-export=kill'));
    let shed = await Shed.connect({ socketPath: d.socketPath });
    try {
      const sb = await shed.sandboxes.create();
      await sb.files.write('/root/c', 'c');
      const snap = await sb.snapshot();
      const images = (await shed.images.list()).map((i) => i.digest);
      await assert.rejects(shed.snapshots.commit(snap, 'cut-short'), 'the request dies with shedd');
      ({ d, shed } = await restart(d, shed, dirs));
      assert.deepEqual(await layerDirs(dirs), [snap.layerId], 'the scratch tars are gone');
      assert.deepEqual(query<{ holder_kind: string }>(dirs, 'SELECT holder_kind FROM layer_refs').map((r) => r.holder_kind), ['snapshot'], 'the hold is dropped');
      assert.deepEqual((await shed.images.list()).map((i) => i.digest), images, 'no image was made');
      assert.deepEqual(await readdir(join(dirs.dataDir, 'tmp')), [], 'no staging left');
      const image = await shed.snapshots.commit(snap, 'after-crash');
      await sb.delete();
      await shed.snapshots.delete(snap);
      const made = await shed.sandboxes.create({ image: 'after-crash' });
      assert.equal(await made.files.readText('/root/c'), 'c');
      await made.delete();
      await shed.images.remove(image.digest);
    } finally {
      shed.close();
      await d.stop();
    }
  });

  it('a fork cut short after one of its sandboxes is made leaves none of them; the snapshot and source are intact', async () => {
    const dirs = await daemonDirs('shed-e2e-forkcrash-');
    let d = await startShedd(dirs, faults('fork.after-one=kill'));
    let shed = await Shed.connect({ socketPath: d.socketPath });
    try {
      const src = await shed.sandboxes.create({ name: 'fork-src' });
      await src.exec(['sh', '-c', 'echo before > /root/f']);
      const bg = await src.spawn(['sleep', '1000']);
      const snap = await src.snapshot();
      await assert.rejects(shed.sandboxes.fork(snap, { count: 3 }), 'the request dies with shedd');
      ({ d, shed } = await restart(d, shed, dirs));
      assert.deepEqual((await shed.sandboxes.list()).map((s) => s.info.name), ['fork-src'], 'no fork of the cut-short request is left');
      await assertUsable(await shed.sandboxes.get('fork-src'), bg.pid);
      assert.deepEqual(query<{ holder_kind: string; holder_id: string }>(dirs, 'SELECT holder_kind, holder_id FROM layer_refs'),
        [{ holder_kind: 'snapshot', holder_id: (await shed.sandboxes.get('fork-src')).id }], 'only the snapshot holds its layer');
      assert.deepEqual((await readdir(join(dirs.dataDir, 'sandboxes'))).length, 1, 'no state dir of a fork is left');
      const [f] = await shed.sandboxes.fork(snap);
      assert.ok(f !== undefined);
      assert.equal(await f.files.readText('/root/f'), 'before\n', 'the snapshot still forks');
      await f.delete();
      await shed.snapshots.delete(snap);
      await (await shed.sandboxes.get('fork-src')).delete();
      assert.deepEqual(await layerDirs(dirs), []);
    } finally {
      shed.close();
      await d.stop();
    }
  });
});
