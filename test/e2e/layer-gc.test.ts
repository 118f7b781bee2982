// Layer reference counting and GC against a real shedd: every path that drops a holder
// (rollback off a layer, deleting a snapshot, a fork, the source) frees exactly what nothing
// else holds, and `shed system prune` removes unheld layer rows and directories without a row,
// reporting the allocated bytes freed (a sparse file counts its blocks, not its size).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDb } from '@shed/server';
import { useLeakCheck } from '../helpers/leaks.js';
import { e2eUnavailable, runCli, useShedd, type DaemonDirs } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e layer gc tests skipped: ${skip}`);
useLeakCheck();

const MiB = 1024 * 1024;
const layerDirs = async (dirs: DaemonDirs): Promise<string[]> => (await readdir(join(dirs.dataDir, 'layers')).catch(() => [])).sort();

function sql(dirs: DaemonDirs, text: string, ...args: unknown[]): unknown[] {
  const db = openDb({ path: join(dirs.dataDir, 'shed.db') });
  try {
    const stmt = db.prepare(text);
    return stmt.reader ? stmt.all(...args) : (stmt.run(...args), []);
  } finally {
    db.close();
  }
}

/** A directory under layers/ holding `bytes` of random data (allocated) and a 64 MiB hole. */
async function fakeLayer(dirs: DaemonDirs, name: string, bytes: number): Promise<void> {
  const dir = join(dirs.dataDir, 'layers', name, 'root');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'data'), randomBytes(bytes));
  await writeFile(join(dir, 'sparse'), '');
  await truncate(join(dir, 'sparse'), 64 * MiB);
}

describe('e2e: layer reference counting and GC', { skip }, () => {
  const fx = useShedd('shed-e2e-layergc-');

  it('rollback, snapshot, fork and source deletes free exactly what nothing else holds', async () => {
    const src = await fx.shed.sandboxes.create();
    await src.files.write('/root/a', 'a');
    const s1 = await src.snapshot();
    const [f] = await fx.shed.sandboxes.fork(s1);
    assert.ok(f !== undefined);
    await f.exec(['sh', '-c', 'head -c 2097152 /dev/urandom > /root/big']);
    const s2 = await f.snapshot();
    assert.ok(s2.bytes >= 2 * MiB);
    const [g] = await fx.shed.sandboxes.fork(s2);
    assert.ok(g !== undefined);
    await f.rollback(s2);
    assert.deepEqual(await layerDirs(fx.dirs), [s1.layerId, s2.layerId].sort());
    await f.rollback(s1);
    await g.delete();
    assert.deepEqual(await layerDirs(fx.dirs), [s1.layerId, s2.layerId].sort(), 's2 is still held by its snapshot');
    await fx.shed.snapshots.delete(s2);
    assert.deepEqual(await layerDirs(fx.dirs), [s1.layerId], 'nothing holds s2 once f rolled off it and g is gone');
    await src.delete();
    assert.deepEqual(await layerDirs(fx.dirs), [s1.layerId], 'a snapshot outlives the sandbox it was taken of');
    await f.delete();
    assert.deepEqual(await layerDirs(fx.dirs), [s1.layerId], 'deleting the fork leaves the snapshot');
    await fx.shed.snapshots.delete(s1);
    assert.deepEqual(await layerDirs(fx.dirs), []);
    assert.deepEqual(sql(fx.dirs, 'SELECT id FROM layers UNION ALL SELECT layer_id FROM layer_refs'), []);
    const p = await fx.shed.prune();
    assert.deepEqual(p.layers, { removed: [], freedBytes: 0 }, 'nothing was left for the GC');
  });

  it('system prune removes unheld layers and directories without a row, and reports allocated bytes', async () => {
    const sb = await fx.shed.sandboxes.create();
    await sb.files.write('/root/kept', 'kept');
    const kept = await sb.snapshot();
    // Rows nothing holds (a chain of two, as a pool's released layers would be) and directories without rows.
    const parent = 'ly-00000000000000a1';
    const child = 'ly-00000000000000a2';
    const orphan = 'ly-00000000000000a3';
    for (const [id, par] of [[parent, null], [child, parent]] as const) {
      sql(fx.dirs, 'INSERT INTO layers (id, parent_id, image_digest, depth, standalone, method, disk_bytes, created_at) VALUES (?, ?, ?, ?, 0, \'copy\', 0, 0)',
        id, par, kept.imageDigest, par === null ? 1 : 2);
      await fakeLayer(fx.dirs, id, MiB / 2);
    }
    await fakeLayer(fx.dirs, orphan, MiB);
    await fakeLayer(fx.dirs, '.changes-0123456789ab', MiB / 4);

    const r = await fx.shed.prune();
    assert.deepEqual([...r.layers.removed].sort(), ['.changes-0123456789ab', child, parent, orphan].sort());
    const data = 2 * MiB + MiB / 4;
    assert.ok(r.layers.freedBytes >= data, `freed ${r.layers.freedBytes} >= ${data}`);
    assert.ok(r.layers.freedBytes < data + MiB, `freed ${r.layers.freedBytes}: allocated blocks, not the 64 MiB holes`);
    assert.deepEqual(await layerDirs(fx.dirs), [kept.layerId], 'the held snapshot stays');
    assert.deepEqual(sql(fx.dirs, 'SELECT id FROM layers'), [{ id: kept.layerId }]);
    const [f] = await fx.shed.sandboxes.fork(kept);
    assert.equal(await f?.files.readText('/root/kept'), 'kept');

    await fakeLayer(fx.dirs, orphan, MiB);
    const cli = await runCli(fx.dirs, 'system', 'prune');
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`layers: removed 1 \\(${orphan}\\), freed 1\\.\\d+ MiB`));
    await f?.delete();
    await sb.delete();
    await fx.shed.snapshots.delete(kept);
  });
});
