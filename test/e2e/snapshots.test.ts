// Filesystem snapshots of running sandboxes and forks from them, against a real shedd: the
// snapshot leaves the sandbox and its processes running, forks see its files and not each
// other's writes, a fork keeps its lowers across stop/start and a shedd crash, a snapshot
// in use cannot be deleted, and deleting everything leaves no layer rows, dirs or mounts.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDb } from '@shed/server';
import { ShedApiError, type Sandbox } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { e2eUnavailable, runCli, useShedd, type DaemonDirs } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e snapshot tests skipped: ${skip}`);
useLeakCheck();

const cli = runCli;

const layerDirs = async (dirs: DaemonDirs): Promise<string[]> => readdir(join(dirs.dataDir, 'layers')).catch(() => []);

async function layerRows(dirs: DaemonDirs): Promise<number> {
  const db = openDb({ path: join(dirs.dataDir, 'shed.db') });
  try {
    const row = db.prepare<[], { n: number }>('SELECT (SELECT COUNT(*) FROM layers) + (SELECT COUNT(*) FROM layer_refs) AS n').get();
    return row?.n ?? -1;
  } finally {
    db.close();
  }
}

/** Overlay mounts whose options name a layer directory of this daemon. */
async function layerMounts(dirs: DaemonDirs): Promise<string[]> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').filter((l) => l.includes(join(dirs.dataDir, 'layers')));
}

describe('e2e: snapshots and forks', { skip }, () => {
  const fx = useShedd('shed-e2e-snap-');

  it('snapshots a running sandbox and forks it: files shared, writes private, survives stop/start and kill -9', async () => {
    const src = await fx.shed.sandboxes.create({ name: 'snap-src' });
    assert.equal((await src.exec(['sh', '-c', 'test -e /etc/group && echo there'])).stdout, 'there\n', 'the image has /etc/group');
    await src.exec(['sh', '-c', 'mkdir -p /root/work && echo hello > /root/work/a.txt && rm /etc/group']);
    const bg = await src.spawn(['sleep', '1000']);
    const snap = await src.snapshot();
    assert.match(snap.layerId, /^ly-[0-9a-f]{16}$/);
    assert.ok(snap.bytes > 0 && (snap.method === 'copy' || snap.method === 'reflink'));
    assert.equal(typeof snap.timings['frozen'], 'number');
    assert.equal((await src.refresh()).state, 'running', 'the snapshot did not stop the sandbox');
    assert.equal((await src.exec(['sh', '-c', `kill -0 ${bg.pid} && echo alive`])).stdout, 'alive\n', 'its process still runs');
    assert.deepEqual((await layerDirs(fx.dirs)), [snap.layerId]);

    const forks = await fx.shed.sandboxes.fork(snap, { count: 3 });
    assert.equal(forks.length, 3);
    assert.equal(new Set(forks.map((f) => f.id)).size, 3);
    assert.equal(new Set(forks.map((f) => f.info.hostname)).size, 3, 'each fork has its own hostname');
    assert.deepEqual(forks.map((f) => f.info.fromSnapshot), Array(3).fill(snap.layerId));
    assert.equal(src.info.fromSnapshot, undefined);
    for (const f of forks) {
      assert.equal(await f.files.readText('/root/work/a.txt'), 'hello\n', `${f.id} sees the snapshot's file`);
      assert.equal((await f.exec(['sh', '-c', 'test -e /etc/group && echo there || echo gone'])).stdout, 'gone\n', 'a deletion carries over');
    }
    const [f0, f1, f2] = forks as [Sandbox, Sandbox, Sandbox];
    await f0.files.write('/root/work/a.txt', 'changed in f0');
    await f0.files.write('/root/work/only-f0.txt', 'mine');
    for (const other of [f1, f2, src]) {
      assert.equal(await other.files.readText('/root/work/a.txt'), 'hello\n', `${other.id} does not see f0's write`);
      assert.equal((await other.exec(['sh', '-c', 'test -e /root/work/only-f0.txt && echo yes || echo no'])).stdout, 'no\n');
    }
    await src.files.write('/root/work/after.txt', 'after the snapshot');
    assert.equal((await f1.exec(['sh', '-c', 'test -e /root/work/after.txt && echo yes || echo no'])).stdout, 'no\n', 'a later write to the source is not in forks');

    const listed = await fx.shed.snapshots.list();
    assert.equal(listed.length, 1);
    assert.deepEqual([...(listed[0]?.forks ?? [])].sort(), forks.map((f) => f.id).sort());

    await assert.rejects(fx.shed.snapshots.delete(snap), (e: unknown) => e instanceof ShedApiError && e.code === 'failed_precondition');

    await f0.stop();
    await f0.start();
    assert.equal(await f0.files.readText('/root/work/a.txt'), 'changed in f0', 'a fork keeps its writes across stop/start');
    assert.equal(await f0.files.readText('/root/work/only-f0.txt'), 'mine');

    // What a crash mid-snapshot leaves: a layer directory without a row, a flatten's scratch upper.
    const orphans = ['ly-00000000000000aa', `${snap.layerId}.upper`];
    for (const o of orphans) await mkdir(join(fx.dirs.dataDir, 'layers', o, 'root'), { recursive: true });
    await fx.restart('kill9');
    assert.deepEqual(await layerDirs(fx.dirs), [snap.layerId], 'the start-up sweep removed the orphans and kept the layer');
    const again = await fx.shed.sandboxes.get(f0.id);
    assert.equal(again.info.state, 'running', 'the fork was adopted after kill -9');
    assert.equal(await again.files.readText('/root/work/a.txt'), 'changed in f0');
    assert.equal(await (await fx.shed.sandboxes.get(f2.id)).files.readText('/root/work/a.txt'), 'hello\n');
    await again.stop();
    await again.start();
    assert.equal(await again.files.readText('/root/work/only-f0.txt'), 'mine', 'lowers rebuilt by the new shedd on start');

    await assert.rejects(fx.shed.snapshots.delete(snap.layerId), (e: unknown) => e instanceof ShedApiError && e.code === 'failed_precondition');
    for (const f of forks) await (await fx.shed.sandboxes.get(f.id)).delete();
    await fx.shed.snapshots.delete(snap.layerId);
    await (await fx.shed.sandboxes.get('snap-src')).delete();
    assert.deepEqual(await fx.shed.snapshots.list(), []);
    assert.deepEqual(await layerDirs(fx.dirs), []);
    assert.equal(await layerRows(fx.dirs), 0);
    assert.deepEqual(await layerMounts(fx.dirs), []);
  });

  it('a fork of a fork snapshots over its own layer (a chain of two)', async () => {
    const src = await fx.shed.sandboxes.create();
    await src.files.write('/root/one.txt', '1');
    const s1 = await src.snapshot();
    const [f] = await fx.shed.sandboxes.fork(s1.layerId);
    assert.ok(f !== undefined);
    await f.files.write('/root/two.txt', '2');
    const s2 = await f.snapshot();
    assert.equal(s2.parent, s1.layerId);
    assert.equal(s2.depth, 2);
    const [g] = await fx.shed.sandboxes.fork(s2.layerId);
    assert.ok(g !== undefined);
    assert.equal(await g.files.readText('/root/one.txt'), '1');
    assert.equal(await g.files.readText('/root/two.txt'), '2');
    await assert.rejects(fx.shed.snapshots.delete(s1.layerId), (e: unknown) => e instanceof ShedApiError && e.code === 'failed_precondition');
    await g.delete();
    await fx.shed.snapshots.delete(s2.layerId);
    await f.delete();
    await fx.shed.snapshots.delete(s1.layerId);
    await src.delete();
    assert.deepEqual(await layerDirs(fx.dirs), []);
    assert.equal(await layerRows(fx.dirs), 0);
  });

  it('a snapshot that would make the chain deeper than 8 is flattened into one standalone layer', async () => {
    const sandboxes: Sandbox[] = [await fx.shed.sandboxes.create()];
    await sandboxes[0]?.exec(['sh', '-c', 'echo 0 > /root/f0 && rm /etc/group']);
    const snaps = [await (sandboxes[0] as Sandbox).snapshot()];
    for (let i = 1; i <= 8; i++) {
      const [f] = await fx.shed.sandboxes.fork((snaps.at(-1) as { layerId: string }).layerId);
      assert.ok(f !== undefined);
      sandboxes.push(f);
      await f.files.write(`/root/f${i}`, `${i}\n`);
      snaps.push(await f.snapshot());
    }
    assert.deepEqual(snaps.map((s) => s.depth), [1, 2, 3, 4, 5, 6, 7, 8, 1]);
    const flat = snaps.at(-1);
    assert.ok(flat !== undefined);
    assert.equal(flat.parent, null, 'the flattened layer stands alone');
    assert.equal(typeof flat.timings['flatten'], 'number');
    const [g] = await fx.shed.sandboxes.fork(flat);
    assert.ok(g !== undefined);
    sandboxes.push(g);
    const seen = await g.exec(['sh', '-c', 'cat /root/f0 /root/f1 /root/f4 /root/f8; test -e /etc/group && echo group || echo no-group; test -x /bin/sh && echo sh']);
    assert.equal(seen.stdout, '0\n1\n4\n8\nno-group\nsh\n', 'every layer, the deletion and the image are in the flattened view');
    assert.deepEqual((await layerDirs(fx.dirs)).sort(), snaps.map((s) => s.layerId).sort(), 'no scratch directories are left');
    for (const sb of sandboxes.reverse()) await sb.delete();
    for (const snap of snaps.reverse()) await fx.shed.snapshots.delete(snap);
    assert.deepEqual(await layerDirs(fx.dirs), []);
    assert.equal(await layerRows(fx.dirs), 0);
    assert.deepEqual(await layerMounts(fx.dirs), []);
  });

  it('bad requests get stable codes', async () => {
    await assert.rejects(fx.shed.sandboxes.fork('ly-0000000000000000'), (e: unknown) => e instanceof ShedApiError && e.code === 'not_found');
    await assert.rejects(fx.shed.sandboxes.fork('nope'), (e: unknown) => e instanceof ShedApiError && e.code === 'invalid_argument');
    const sb = await fx.shed.sandboxes.create();
    const snap = await sb.snapshot();
    await assert.rejects(fx.shed.sandboxes.fork(snap, { count: 33 }), (e: unknown) => e instanceof ShedApiError && e.code === 'invalid_argument');
    await sb.stop();
    const stopped = await sb.snapshot();
    assert.equal(stopped.timings['frozen'], 0, 'a stopped sandbox is captured from disk, unfrozen');
    await fx.shed.snapshots.delete(stopped);
    await fx.shed.snapshots.delete(snap);
    await sb.delete();
  });

  it('through the CLI: shed snapshot, shed fork, shed snapshot ls|rm', async () => {
    const sb = await fx.shed.sandboxes.create({ name: 'cli-src' });
    await sb.files.write('/root/cli.txt', 'via cli');
    const taken = await cli(fx.dirs, '--json', 'snapshot', 'cli-src');
    assert.equal(taken.code, 0, taken.stderr);
    const { layerId } = JSON.parse(taken.stdout) as { layerId: string };
    const ls = await cli(fx.dirs, '--json', 'snapshot', 'ls');
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual((JSON.parse(ls.stdout) as { layerId: string }[]).map((s) => s.layerId), [layerId]);
    const forked = await cli(fx.dirs, '--json', 'fork', layerId, '--count', '2');
    assert.equal(forked.code, 0, forked.stderr);
    const made = JSON.parse(forked.stdout) as { id: string }[];
    assert.equal(made.length, 2);
    for (const m of made) assert.equal(await (await fx.shed.sandboxes.get(m.id)).files.readText('/root/cli.txt'), 'via cli');
    const refused = await cli(fx.dirs, 'snapshot', 'rm', layerId);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /in use/);
    for (const m of made) await (await fx.shed.sandboxes.get(m.id)).delete();
    const rm = await cli(fx.dirs, 'snapshot', 'rm', layerId);
    assert.equal(rm.code, 0, rm.stderr);
    await sb.delete();
    assert.deepEqual(await layerDirs(fx.dirs), []);
  });
});
