// Snapshots beyond the running sandbox, against a real shedd: commit (a snapshot becomes an
// image: files, modes, symlinks and deletions carry over, the image outlives the snapshot and
// shares the base image's blobs), memory snapshots refused with `unimplemented` and why, and
// snapshots and diffs of a stopped sandbox (captured from disk, no freeze).
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { SnapshotResponse } from '@shed/protocol';
import { ShedApiError, type Sandbox } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { e2eUnavailable, runCli, useShedd, type DaemonDirs } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e snapshot commit tests skipped: ${skip}`);
useLeakCheck();

const isApiError = (code: string) => (e: unknown): boolean => e instanceof ShedApiError && e.code === code;
const layerDirs = async (dirs: DaemonDirs): Promise<string[]> => readdir(join(dirs.dataDir, 'layers')).catch(() => []);

describe('e2e: commit, memory snapshots, stopped sandboxes', { skip }, () => {
  const fx = useShedd('shed-e2e-commit-');

  it('commits a snapshot (a chain of two) into an image: files, modes, symlinks and deletions; it outlives the snapshot', async () => {
    const src = await fx.shed.sandboxes.create();
    await src.exec(['sh', '-c', [
      'mkdir -p /opt/app && echo one > /opt/app/a.txt && chmod 0751 /opt/app/a.txt',
      'echo run > /opt/app/run.sh && chmod 4755 /opt/app/run.sh && ln -s a.txt /opt/app/link',
      'rm /etc/group && rm -r /etc/init.d 2>/dev/null; true',
    ].join(' && ')]);
    const s1 = await src.snapshot();
    const [fork] = await fx.shed.sandboxes.fork(s1);
    assert.ok(fork !== undefined);
    await fork.exec(['sh', '-c', 'echo two > /opt/app/b.txt && rm /opt/app/a.txt && echo changed > /etc/hostname.shed && echo extra:x:1234:1234::/:/bin/sh >> /etc/passwd']);
    const s2 = await fork.snapshot();
    assert.equal(s2.depth, 2);
    const imagesBefore = await fx.shed.images.list();

    const image = await fx.shed.snapshots.commit(s2, 'committed:v1');
    assert.match(image.digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(image.names, ['committed:v1']);
    const listed = await fx.shed.images.list();
    assert.ok(listed.some((i) => i.digest === image.digest && i.names.includes('committed:v1')), 'image ls shows it');
    assert.equal(listed.length, imagesBefore.length + 1);

    await fork.delete();
    await src.delete();
    await fx.shed.snapshots.delete(s2);
    await fx.shed.snapshots.delete(s1);
    assert.deepEqual(await layerDirs(fx.dirs), [], 'no layer or scratch directory is left');

    const sb = await fx.shed.sandboxes.create({ image: 'committed:v1' });
    const seen = await sb.exec(['sh', '-c', [
      'cat /opt/app/b.txt /etc/hostname.shed', 'test -e /opt/app/a.txt && echo a || echo no-a', 'test -e /etc/group && echo group || echo no-group',
      'stat -c "%a %U" /opt/app/run.sh', 'readlink /opt/app/link', 'test -x /bin/sh && echo sh',
    ].join('; ')]);
    assert.equal(seen.stdout, 'two\nchanged\nno-a\nno-group\n4755 root\na.txt\nsh\n', seen.stderr);
    assert.match(await sb.files.readText('/etc/passwd'), /^extra:x:1234:/m, 'a file modified in the snapshot');
    await sb.delete();
    // The commit's rootfs is a hardlink clone of the base's: the base must be untouched.
    const plain = await fx.shed.sandboxes.create();
    const base0 = await plain.exec(['sh', '-c', 'test -e /etc/group && echo group; grep -c extra /etc/passwd; test -e /opt/app || echo no-app']);
    assert.equal(base0.stdout, 'group\n0\nno-app\n', 'the base image is as it was');
    await plain.delete();

    // The base image's layers are shared by digest: the commit added its own two layers only.
    const manifest = JSON.parse(await readFile(join(fx.dirs.dataDir, 'blobs', 'sha256', image.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
    const base = listed.find((i) => i.names.includes('default'));
    assert.ok(base !== undefined);
    const baseManifest = JSON.parse(await readFile(join(fx.dirs.dataDir, 'blobs', 'sha256', base.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
    assert.deepEqual(manifest.layers.slice(0, baseManifest.layers.length), baseManifest.layers);
    assert.equal(manifest.layers.length, baseManifest.layers.length + 2);

    await fx.shed.images.remove('committed:v1');
    assert.ok(!(await fx.shed.images.list()).some((i) => i.digest === image.digest));
    assert.equal((await readdir(join(fx.dirs.dataDir, 'images'))).includes(image.digest.slice(7)), false, 'its rootfs is gone');
  });

  it('commits a flattened (standalone) snapshot: a whole rootfs, no base layers', async () => {
    const made = [await fx.shed.sandboxes.create()];
    await made[0]?.exec(['sh', '-c', 'echo 0 > /root/f0 && rm /etc/group']);
    const snaps = [await (made[0] as Sandbox).snapshot()];
    for (let i = 1; i <= 8; i++) {
      const [f] = await fx.shed.sandboxes.fork(snaps[i - 1] as SnapshotResponse);
      assert.ok(f !== undefined);
      made.push(f);
      await f.files.write(`/root/f${i}`, `${i}\n`);
      snaps.push(await f.snapshot());
    }
    const flat = snaps.at(-1) as SnapshotResponse;
    assert.equal(flat.parent, null, 'the ninth snapshot was flattened');
    const image = await fx.shed.snapshots.commit(flat, 'flat:v1');
    const manifest = JSON.parse(await readFile(join(fx.dirs.dataDir, 'blobs', 'sha256', image.digest.slice(7)), 'utf8')) as { layers: unknown[] };
    assert.equal(manifest.layers.length, 1, 'one layer: the whole rootfs');
    for (const sb of made.reverse()) await sb.delete();
    for (const snap of snaps.reverse()) await fx.shed.snapshots.delete(snap);
    const sb = await fx.shed.sandboxes.create({ image: 'flat:v1' });
    const seen = await sb.exec(['sh', '-c', 'cat /root/f0 /root/f1 /root/f8; test -e /etc/group && echo group || echo no-group; test -x /bin/sh && echo sh']);
    assert.equal(seen.stdout, '0\n1\n8\nno-group\nsh\n', seen.stderr);
    await sb.delete();
    await fx.shed.images.remove('flat:v1');
    assert.deepEqual(await layerDirs(fx.dirs), []);
  });

  it('commits through the CLI; bad names and unknown snapshots get stable codes', async () => {
    const sb = await fx.shed.sandboxes.create();
    await sb.files.write('/root/cli.txt', 'from the cli');
    const snap = await sb.snapshot();
    const r = await runCli(fx.dirs, '--json', 'commit', snap.layerId, 'cli-commit');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { names: string[] }).names, ['cli-commit']);
    const made = await fx.shed.sandboxes.create({ image: 'cli-commit' });
    assert.equal(await made.files.readText('/root/cli.txt'), 'from the cli');
    await made.delete();
    await assert.rejects(fx.shed.snapshots.commit(snap, 'Bad Name!'), isApiError('invalid_argument'));
    await assert.rejects(fx.shed.snapshots.commit('ly-0000000000000000', 'x'), isApiError('not_found'));
    await fx.shed.images.remove('cli-commit');
    await sb.delete();
    await fx.shed.snapshots.delete(snap);
  });

  it('refuses a memory snapshot with unimplemented (501) saying why, and the daemon carries on', async () => {
    const sb = await fx.shed.sandboxes.create();
    const err = await sb.snapshot({ memory: true }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ShedApiError, String(err));
    assert.equal(err.code, 'unimplemented');
    assert.equal(err.status, 501);
    assert.match(err.message, /memory snapshots|checkpoint/);
    assert.match(err.message, /criu check/, 'the message says what the host needs');
    assert.equal(err.details['capability'], 'memory-snapshots');
    assert.equal(typeof err.details['reason'], 'string');
    const cli = await runCli(fx.dirs, 'snapshot', '--memory', sb.id);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /unimplemented/);
    assert.equal((await sb.refresh()).state, 'running');
    assert.deepEqual(await fx.shed.snapshots.list(), [], 'nothing was taken');
    assert.equal((await sb.exec(['echo', 'ok'])).stdout, 'ok\n');
    await sb.delete();
  });

  it('snapshots and diffs a stopped sandbox from its layers on disk', async () => {
    const sb = await fx.shed.sandboxes.create();
    await sb.exec(['sh', '-c', 'echo kept > /root/kept.txt && rm /etc/group && mkdir /root/d && echo x > /root/d/x']);
    await sb.stop();
    assert.equal(sb.info.state, 'stopped');
    const diff = await sb.diff();
    assert.ok(diff.added.includes('/root/kept.txt'), JSON.stringify(diff));
    assert.ok(diff.deleted.includes('/etc/group'));
    const snap = await sb.snapshot();
    assert.equal(snap.timings['frozen'], 0, 'nothing was frozen');
    assert.equal((await sb.refresh()).state, 'stopped', 'the snapshot did not start it');
    const [f] = await fx.shed.sandboxes.fork(snap);
    assert.ok(f !== undefined);
    assert.equal((await f.exec(['sh', '-c', 'cat /root/kept.txt /root/d/x; test -e /etc/group || echo no-group'])).stdout, 'kept\nx\nno-group\n');
    const tarCli = await runCli(fx.dirs, 'diff', '--json', sb.id);
    assert.equal(tarCli.code, 0, tarCli.stderr);
    assert.ok((JSON.parse(tarCli.stdout) as { added: string[] }).added.includes('/root/kept.txt'));
    let tarBytes = 0;
    for await (const chunk of await sb.exportChanges()) tarBytes += chunk.length;
    assert.ok(tarBytes > 1024, 'the changes tar of a stopped sandbox streams');
    await sb.start();
    assert.equal(await sb.files.readText('/root/kept.txt'), 'kept\n', 'it starts with its files after');

    // Rollback of a stopped sandbox: it stays stopped, changes nothing until started, then has the snapshot's files.
    await sb.exec(['sh', '-c', 'echo later > /root/kept.txt && echo new > /root/new.txt']);
    await sb.stop();
    await sb.rollback(snap);
    assert.equal(sb.info.state, 'stopped', 'a stopped sandbox stays stopped');
    assert.equal(sb.info.fromSnapshot, snap.layerId);
    assert.deepEqual(await sb.diff(), { added: [], modified: [], deleted: [], opaque: [] }, 'nothing over the snapshot yet');
    const empty = await sb.snapshot();
    assert.equal(empty.parent, snap.layerId);
    await sb.start();
    assert.equal((await sb.exec(['sh', '-c', 'cat /root/kept.txt; test -e /root/new.txt || echo no-new'])).stdout, 'kept\nno-new\n');
    await fx.shed.snapshots.delete(empty);
    await f.delete();
    await sb.delete();
    await fx.shed.snapshots.delete(snap);
    assert.deepEqual(await layerDirs(fx.dirs), []);
  });
});
