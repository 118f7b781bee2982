// What a sandbox changed (diff, and the changes as a tar) and rollback to a snapshot, against
// a real shedd: added/modified/deleted paths over the image and over a fork's snapshot, a
// symlink to / reported as a symlink and never walked, the tar's entries and whiteouts, the
// CLI's lines, and no scratch capture left behind; rollback restores a snapshot's exact files,
// also after a crash (and a crash half way through one leaves the old files), and refuses a
// snapshot of another sandbox.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { openDb } from '@shed/server';
import { Shed, ShedApiError } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { CLI, daemonDirs, e2eUnavailable, startShedd, useShedd, type DaemonDirs } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e diff/rollback tests skipped: ${skip}`);
useLeakCheck();

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(file, args, { env }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

const cliEnv = (dirs: DaemonDirs): NodeJS.ProcessEnv => ({ PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...dirs.env });

/** `tar -tvf` lines of a tar file. */
async function tarListing(file: string): Promise<string[]> {
  const r = await run('tar', ['-tvf', file]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

const layerDirs = async (dirs: DaemonDirs): Promise<string[]> => readdir(join(dirs.dataDir, 'layers')).catch(() => []);
async function opsOf(dirs: DaemonDirs, sandbox: string): Promise<string[]> {
  const db = openDb({ path: join(dirs.dataDir, 'shed.db') });
  try {
    return db.prepare<[string], { kind: string; state: string }>('SELECT kind, state FROM operations WHERE sandbox_id = ? ORDER BY rowid').all(sandbox).map((o) => `${o.kind}:${o.state}`);
  } finally {
    db.close();
  }
}

const isApiError = (code: string) => (e: unknown): boolean => e instanceof ShedApiError && e.code === code;

describe('e2e: diff and rollback', { skip }, () => {
  const fx = useShedd('shed-e2e-diff-');
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'shed-e2e-diff-out-'));
  });

  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('diff lists added, modified and deleted paths; a symlink to / is a symlink, not walked; the tar has it all', async () => {
    const sb = await fx.shed.sandboxes.create({ name: 'diff-src' });
    await sb.exec(['sh', '-c', 'mkdir -p /root/w && echo hi > /root/w/a && chmod 600 /etc/passwd && rm /etc/group && ln -s / /root/w/to-root']);
    const diff = await sb.diff();
    for (const p of ['/root/w', '/root/w/a', '/root/w/to-root']) assert.ok(diff.added.includes(p), `${p} added: ${JSON.stringify(diff)}`);
    assert.ok(diff.modified.includes('/etc/passwd'), 'a mode change is a modification');
    assert.deepEqual(diff.deleted, ['/etc/group']);
    const all = [...diff.added, ...diff.modified, ...diff.deleted];
    assert.deepEqual(all.filter((p) => p.startsWith('/root/w/to-root/')), [], 'the symlink to / was not followed');
    assert.ok(!all.some((p) => p.startsWith('/proc/') || p.startsWith('/usr/')), 'nothing of the host or the image shows');

    const tarFile = join(scratch, 'sdk.tar');
    await pipeline(Readable.from(await sb.exportChanges()), createWriteStream(tarFile));
    const listing = await tarListing(tarFile);
    assert.ok(listing.some((l) => l.startsWith('l') && / root\/w\/to-root -> \/$/.test(l)), `a symlink entry: ${listing.join('\n')}`);
    assert.ok(listing.some((l) => l.startsWith('-') && l.endsWith(' root/w/a')));
    assert.ok(listing.some((l) => l.endsWith(' etc/.wh.group')), 'the deletion is a whiteout');
    assert.ok(listing.some((l) => l.startsWith('-rw-------') && l.endsWith(' etc/passwd')), 'the new mode is in the tar');
    assert.ok(listing.some((l) => / 0\/0 /.test(l) && l.endsWith(' root/w/a')), 'owners shifted back into the sandbox (root is 0)');
    assert.equal((await sb.refresh()).state, 'running');
    assert.deepEqual((await layerDirs(fx.dirs)).filter((n) => n.startsWith('.')), [], 'no scratch capture is left');
    await sb.delete();
  });

  it("a fork's diff is over its snapshot, not the image", async () => {
    const src = await fx.shed.sandboxes.create();
    await src.exec(['sh', '-c', 'echo one > /root/one && rm /etc/group']);
    const snap = await src.snapshot();
    const [fork] = await fx.shed.sandboxes.fork(snap);
    assert.ok(fork !== undefined);
    await fork.exec(['sh', '-c', 'echo two > /root/two && rm /root/one']);
    const diff = await fork.diff();
    assert.ok(diff.added.includes('/root/two'));
    assert.deepEqual(diff.deleted, ['/root/one']);
    assert.ok(!diff.added.includes('/root/one') && !diff.deleted.includes('/etc/group'), 'the snapshot\'s own changes are below the fork');
    await fork.delete();
    await src.delete();
    await fx.shed.snapshots.delete(snap);
  });

  it('bad requests get stable codes', async () => {
    const sb = await fx.shed.sandboxes.create({ name: 'diff-stopped' });
    await sb.stop();
    assert.ok(Array.isArray((await sb.diff()).added), 'a stopped sandbox is diffed from its layers on disk');
    const snap = await sb.snapshot();
    const other = await fx.shed.sandboxes.create();
    await assert.rejects(other.rollback(snap), isApiError('failed_precondition'), "another sandbox's snapshot");
    await other.delete();
    await sb.delete();
    await fx.shed.snapshots.delete(snap);
    await assert.rejects(sb.diff(), isApiError('not_found'));
  });

  it('through the CLI: shed diff, --json, --tar', async () => {
    const sb = await fx.shed.sandboxes.create({ name: 'diff-cli' });
    await sb.exec(['sh', '-c', 'echo x > /root/new && echo y >> /etc/passwd && rm /etc/group']);
    const text = await run(process.execPath, [CLI, 'diff', 'diff-cli'], cliEnv(fx.dirs));
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trim().split('\n');
    for (const l of ['A /root/new', 'M /etc/passwd', 'D /etc/group']) assert.ok(lines.includes(l), `${l} in ${text.stdout}`);
    const json = await run(process.execPath, [CLI, 'diff', 'diff-cli', '--json'], cliEnv(fx.dirs));
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as { deleted: string[] }).deleted, ['/etc/group']);
    const tarFile = join(scratch, 'cli.tar');
    const tar = await run('sh', ['-c', `"${process.execPath}" "${CLI}" diff diff-cli --tar > "${tarFile}"`], cliEnv(fx.dirs));
    assert.equal(tar.code, 0, tar.stderr);
    assert.ok((await tarListing(tarFile)).some((l) => l.endsWith(' root/new')));
    await sb.delete();
  });

  it('rollback makes the files exactly the snapshot\'s: contents, modes, deletions; it runs and survives kill -9', async () => {
    const sb = await fx.shed.sandboxes.create({ name: 'rb-src' });
    await sb.exec(['sh', '-c', 'mkdir -p /root/w && echo a > /root/w/a && echo b > /root/w/b && chmod 750 /root/w/b && rm /etc/group']);
    const snap = await sb.snapshot();
    await sb.exec(['sh', '-c', 'echo changed > /root/w/a && chmod 600 /root/w/a && rm /root/w/b && echo c > /root/w/c && echo back > /etc/group && rm /etc/passwd']);
    await sb.rollback(snap);
    assert.equal(sb.info.state, 'running');
    const expect = async (): Promise<void> => {
      const r = await sb.exec(['sh', '-c', 'cat /root/w/a; stat -c %a /root/w/a /root/w/b; cat /root/w/b; test -e /root/w/c && echo c-there; test -e /etc/group && echo group-there; test -e /etc/passwd && echo passwd-there']);
      assert.equal(r.stdout, 'a\n644\n750\nb\npasswd-there\n', r.stderr);
    };
    await expect();
    const diff = await sb.diff();
    assert.deepEqual([...diff.added, ...diff.deleted].filter((p) => p.startsWith('/root/w') || p === '/etc/group'), [], 'the writable layer starts empty over the snapshot');
    const ops = await opsOf(fx.dirs, sb.id);
    assert.ok(ops.includes('rollback:done'), `a rollback operation row: ${ops.join(', ')}`);

    await fx.restart('kill9');
    const again = await fx.shed.sandboxes.get('rb-src');
    assert.equal(again.info.state, 'running');
    await again.stop();
    await again.start();
    const r = await again.exec(['sh', '-c', 'cat /root/w/a; test -e /etc/group || echo no-group; test -e /root/w/c || echo no-c']);
    assert.equal(r.stdout, 'a\nno-group\nno-c\n', 'the rollback holds across a crash and a restart');
    await assert.rejects(fx.shed.snapshots.delete(snap), isApiError('failed_precondition'), 'the sandbox sits on the snapshot now');
    await again.delete();
    await fx.shed.snapshots.delete(snap);
  });

  it("rollback of a fork to its source snapshot; another sandbox's snapshot is refused", async () => {
    const src = await fx.shed.sandboxes.create();
    await src.exec(['sh', '-c', 'echo base > /root/base']);
    const snap = await src.snapshot();
    const [fork] = await fx.shed.sandboxes.fork(snap);
    assert.ok(fork !== undefined);
    await fork.exec(['sh', '-c', 'rm /root/base && echo mine > /root/mine']);
    const other = await fx.shed.sandboxes.create();
    const foreign = await other.snapshot();
    await assert.rejects(fork.rollback(foreign), isApiError('failed_precondition'));
    await assert.rejects(fork.rollback('ly-0000000000000000'), isApiError('not_found'));
    await assert.rejects(fork.rollback('nope'), isApiError('invalid_argument'));
    assert.equal((await fork.refresh()).state, 'running', 'a refused rollback leaves it running');
    const viaCli = await run(process.execPath, [CLI, 'rollback', fork.id, snap.layerId], cliEnv(fx.dirs));
    assert.equal(viaCli.code, 0, viaCli.stderr);
    assert.equal(viaCli.stdout, `${fork.id}\n`);
    const r = await fork.exec(['sh', '-c', 'cat /root/base; test -e /root/mine || echo no-mine']);
    assert.equal(r.stdout, 'base\nno-mine\n');
    await fork.delete();
    await other.delete();
    await src.delete();
    await fx.shed.snapshots.delete(foreign);
    await fx.shed.snapshots.delete(snap);
    assert.deepEqual(await layerDirs(fx.dirs), []);
  });

  it('a shedd killed half way through a rollback comes back with the sandbox\'s files as they were', async () => {
    const fdirs = await daemonDirs('shed-e2e-rbcrash-');
    let fd = await startShedd(fdirs, { env: { SHED_ALLOW_FAULTS: '1', SHED_FAULTS: 'rollback.after-aside=kill' } });
    let fshed = await Shed.connect({ socketPath: fd.socketPath });
    try {
      const sb = await fshed.sandboxes.create({ name: 'rb-crash' });
      await sb.exec(['sh', '-c', 'echo old > /root/f']);
      const snap = await sb.snapshot();
      await sb.exec(['sh', '-c', 'echo new > /root/f && echo later > /root/g']);
      await assert.rejects(sb.rollback(snap), 'the request dies with shedd');
      fshed.close();
      await fd.kill9();
      fd = await startShedd(fdirs);
      fshed = await Shed.connect({ socketPath: fd.socketPath });
      const again = await fshed.sandboxes.get('rb-crash');
      assert.equal(again.info.state, 'stopped');
      assert.ok((await opsOf(fdirs, again.id)).includes('rollback:rolled_back'));
      await again.start();
      assert.equal((await again.exec(['cat', '/root/f', '/root/g'])).stdout, 'new\nlater\n', 'the upper set aside came back');
      await again.rollback(snap);
      assert.equal((await again.exec(['sh', '-c', 'cat /root/f; test -e /root/g || echo no-g'])).stdout, 'old\nno-g\n');
      await again.delete();
      await fshed.snapshots.delete(snap);
    } finally {
      fshed.close();
      await fd.stop();
    }
  });
});
