// Snapshots as layers, against real crun sandboxes: capture while a process writes, forks that
// see the snapshot (deletions, modes, owners, symlinks, hardlinks, sparse files) and stay
// isolated, flatten of a chain, diff of a layer (with hostile symlinks), and the CRIU probe.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, stat, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerDriver, DEFAULT_LIMITS, DEFAULT_MAX_LAYER_DEPTH, ShedError, parseContainerHandles, unpackLayers, type DriverSnapshots, type LayerChange, type RunningSandbox } from '@shed/server';
import { containerTarget } from '../conformance/container-target.js';
import { AGENT_PATH, HOST_ID, ID_RANGE, sandboxEnv, type SandboxEnv } from '../conformance/env.js';
import { assertNoLeaks, cleanupTempDirs } from '../helpers/leaks.js';
import { listing, withOverlay } from './tree.js';

const run = promisify(execFile);

// Changes made in the sandbox whose snapshot the forks start from.
const CHANGES = [
  'set -e',
  'rm /etc/hostname',
  'rm -r /usr && mkdir -p /usr/local && echo u > /usr/local/f',
  'mkdir /data && echo hi > /data/a && chmod 640 /data/a && chown 1000:1000 /data/a',
  'ln /data/a /data/hard',
  'ln -s /etc/passwd /data/link && ln -s / /data/root',
  'truncate -s 64M /data/sparse && printf x | dd of=/data/sparse bs=1 seek=1000000 conv=notrunc 2>/dev/null',
  'chmod 600 /etc/passwd',
  'echo extra:x:7: >> /etc/group',
].join('\n');

const EXPECTED_DIFF: LayerChange[] = [
  { path: '/data', kind: 'added' },
  { path: '/data/a', kind: 'added' },
  { path: '/data/hard', kind: 'added' },
  { path: '/data/link', kind: 'added' },
  { path: '/data/root', kind: 'added' },
  { path: '/data/sparse', kind: 'added' },
  { path: '/etc/group', kind: 'modified', what: ['content'] },
  { path: '/etc/hostname', kind: 'deleted' },
  { path: '/etc/passwd', kind: 'modified', what: ['mode'] },
  { path: '/usr', kind: 'modified', what: [], opaque: true },
  { path: '/usr/bin', kind: 'deleted' },
  { path: '/usr/local', kind: 'added' },
  { path: '/usr/local/f', kind: 'added' },
  { path: '/usr/sbin', kind: 'deleted' },
];

describe('snapshots (crun)', () => {
  let env: SandboxEnv;
  let driver: ContainerDriver;
  let snaps: DriverSnapshots;
  let skip: string | undefined;
  const live = new Set<RunningSandbox>();
  let base: string; // the layer captured from CHANGES

  before(async () => {
    const target = await containerTarget('crun');
    if (typeof target === 'string') return void (skip = target);
    env = await sandboxEnv('shed-snap-');
    driver = new ContainerDriver({ runtime: 'crun', agentPath: AGENT_PATH });
    snaps = driver.snapshots;
  });
  after(async () => {
    for (const sb of live) await driver.destroy(sb.handles);
    await cleanupTempDirs();
    await assertNoLeaks();
  });
  const it = (title: string, fn: () => Promise<void>): void =>
    void test(title, async (ctx) => (skip !== undefined ? ctx.skip(skip) : fn()));
  const create = async (lowerDirs?: string[]): Promise<RunningSandbox> => {
    const sb = await driver.create(env.spec(lowerDirs === undefined ? {} : { lowerDirs }));
    live.add(sb);
    return sb;
  };
  const sh = async (sb: RunningSandbox, script: string): Promise<string> => {
    const r = await sb.agent.run(['sh', '-c', script]);
    assert.equal(r.exitCode, 0, `${script}\n${r.stderr.toString()}`);
    return r.stdout.toString();
  };
  const layer = (name: string): string => join(env.dir, 'layers', name);
  /** Waits until the writer in `sb` has more than `n` files in /w (it writes a file every few ms, unless frozen). */
  const writtenPast = async (sb: RunningSandbox, n: number): Promise<number> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const count = Number(await sh(sb, 'ls /w | wc -l'));
      if (count > n) return count;
      assert.ok(Date.now() < deadline, `the writer made no file past ${n} in 10 s`);
      await sleep(20);
    }
  };

  it('captures a running writer as of the freeze, and the sandbox runs on', async () => {
    const sb = await create();
    // Whole numbered files appear by rename: each f<i> is complete or absent, never partial.
    await sh(sb, 'mkdir /w; (i=0; while :; do i=$((i+1)); { seq 1 3000; echo END $i; } > /w/.tmp; mv /w/.tmp /w/f$i; done) >/dev/null 2>&1 &');
    await writtenPast(sb, 3); // f1..f3 (and maybe .tmp): the writer is under way
    const snap = await snaps.snapshotUpper(sb.handles, layer('writer'), { maxFrozenMs: 10_000 });
    assert.ok(snap.method === 'copy' || snap.method === 'reflink');
    assert.ok(snap.bytes > 0 && snap.timings.frozen >= snap.timings.copy, JSON.stringify(snap));
    await writtenPast(sb, Number(await sh(sb, 'ls /w | wc -l'))); // the writer runs on after the thaw
    const files = [...(await listing(join(layer('writer'), 'w'))).keys()].filter((f) => /^f\d+$/.test(f));
    assert.ok(files.length > 0, 'the writer had written files before the snapshot');
    const fork = await create([layer('writer'), env.rootfs]);
    const check = await sh(fork, 'cd /w; bad=0; for f in f*; do n=${f#f}; [ "$(tail -n1 $f)" = "END $n" ] && [ $(wc -l < $f) -eq 3001 ] || bad=$((bad+1)); done; echo $bad');
    assert.equal(check.trim(), '0', 'every captured file is complete');
  });

  it('a big upper is copied unfrozen first: the frozen span is a fraction of the copy, and the capture is as of the freeze', async () => {
    const sb = await create();
    // 2,000 small files (a git checkout's worth of objects), then writers that change them all
    // the time: whole files by rename, in-place rewrites with the mtime set back, chmods.
    await sh(sb, 'mkdir -p /repo && cd /repo && for d in $(seq 1 20); do mkdir $d; (cd $d && seq 1 100 | xargs touch); done && echo v0 > /repo/1/1');
    // Paced (sleep 0.01): flat out, two shell loops on this 2-core host outrun cp itself.
    await sh(sb, 'mkdir /w; (i=0; while :; do i=$((i+1)); { seq 1 3000; echo END $i; } > /w/.tmp; mv /w/.tmp /w/f$i; sleep 0.01; done) >/dev/null 2>&1 &');
    await sh(sb, '(i=0; while :; do i=$((i+1)); printf %08d $i > /repo/1/.n; touch -d @1000000000 /repo/1/.n; mv /repo/1/.n /repo/1/1; chmod 600 /repo/2/1; chmod 644 /repo/2/1; sleep 0.01; done) >/dev/null 2>&1 &');
    await writtenPast(sb, 3);
    const snap = await snaps.snapshotUpper(sb.handles, layer('big'), { maxFrozenMs: 10_000 });
    const prepass = snap.timings.prepass ?? 0;
    assert.ok(prepass > 0, `the big upper went through two passes: ${JSON.stringify(snap.timings)}`);
    assert.ok(snap.timings.frozen < prepass / 2, `frozen ${snap.timings.frozen} ms is well under the unfrozen copy's ${prepass} ms`);
    const fork = await create([layer('big'), env.rootfs]);
    assert.equal((await sh(fork, 'find /repo -type f ! -name .n | wc -l')).trim(), '2000', 'every repository file is in the capture');
    assert.equal((await sh(fork, 'stat -c %a /repo/3/1')).trim(), '644');
    assert.match(await sh(fork, 'cat /repo/1/1; echo; stat -c %Y /repo/1/1'), /^\d{8}\n1000000000\n$/, 'a file replaced with its mtime set back is whole');
    const check = await sh(fork, 'cd /w; bad=0; for f in f*; do n=${f#f}; [ "$(tail -n1 $f)" = "END $n" ] && [ $(wc -l < $f) -eq 3001 ] || bad=$((bad+1)); done; echo $bad');
    assert.equal(check.trim(), '0', 'every captured file is complete');
  });

  it('a capture past its frozen-time budget fails, leaves no layer, and thaws the sandbox', async () => {
    const sb = await create();
    await sh(sb, 'mkdir /big && for i in $(seq 1 200); do echo $i > /big/$i; done');
    await assert.rejects(snaps.snapshotUpper(sb.handles, layer('late'), { maxFrozenMs: 1 }), (err: ShedError) => err.code === 'unavailable');
    await assert.rejects(lstat(layer('late')), /ENOENT/);
    assert.equal(await sh(sb, 'echo alive'), 'alive\n', 'the sandbox was thawed');
  });

  it('a sandbox the user paused is captured as it is and stays paused', async () => {
    const sb = await create();
    await sh(sb, 'echo paused > /p');
    await driver.pause(sb.handles);
    const frozen = (): string => parseContainerHandles(sb.handles).data.cgroupDirs
      .map((d) => join(d, 'freezer.state')).filter(existsSync).map((f) => readFileSync(f, 'utf8').trim()).join(',');
    await snaps.snapshotUpper(sb.handles, layer('paused'));
    if (frozen() !== '') assert.equal(frozen(), 'FROZEN');
    await driver.resume(sb.handles);
    assert.equal(await sh(sb, 'cat /p'), 'paused\n');
    assert.equal((await lstat(join(layer('paused'), 'p'))).size, 7);
  });

  it('a fork sees the snapshot: deletions, opaque dirs, modes, owners, symlinks, hardlinks, sparse files', async () => {
    const sb = await create();
    await sh(sb, CHANGES);
    base = layer('base');
    await snaps.snapshotUpper(sb.handles, base);
    const hostA = await lstat(join(base, 'data/a'));
    assert.equal(hostA.uid, HOST_ID + 1000, 'shifted ids are kept as they are');
    assert.equal(hostA.nlink, 2, 'the hardlink stays a hardlink in the layer');
    const sparse = await stat(join(base, 'data/sparse'));
    assert.ok(sparse.blocks * 512 < 1 << 20, `the sparse file stays sparse (${sparse.blocks} blocks)`);
    const fork = await create([base, env.rootfs]);
    const out = await sh(fork, [
      'test ! -e /etc/hostname && echo gone',
      'ls /usr',
      'stat -c "%a %u %g %h" /data/a',
      '[ $(stat -c %i /data/a) = $(stat -c %i /data/hard) ] && echo same-inode',
      'readlink /data/link; readlink /data/root',
      'stat -c "%a" /etc/passwd',
      'tail -n1 /etc/group',
      'stat -c "%s %b" /data/sparse',
    ].join('; '));
    assert.deepEqual(out.trim().split('\n'), ['gone', 'local', '640 1000 1000 2', 'same-inode', '/etc/passwd', '/', '600', 'extra:x:7:', `${64 << 20} ${(await stat(join(base, 'data/sparse'))).blocks}`]);
  });

  it('two forks of one snapshot are isolated from each other', async () => {
    const [a, b] = [await create([base, env.rootfs]), await create([base, env.rootfs])];
    await sh(a, 'echo fork-a > /data/a; rm /data/hard; touch /data/only-a');
    assert.equal(await sh(b, 'cat /data/a; ls /data'), 'hi\na\nhard\nlink\nroot\nsparse\n');
    assert.equal(await sh(a, 'cat /data/a; ls /data'), 'fork-a\na\nlink\nonly-a\nroot\nsparse\n');
    assert.equal((await lstat(join(base, 'data/a'))).size, 3, 'the snapshot layer is never written');
  });

  it('diff lists exactly the changes, and follows no hostile symlink', async () => {
    assert.deepEqual(await snaps.diffLayer(base, [env.rootfs]), EXPECTED_DIFF);
    // A directory over a lower symlink to the host's root: the walk must not look through it.
    const fork = await create([base, env.rootfs]);
    await sh(fork, 'rm /data/root && mkdir -p /data/root/etc && echo mine > /data/root/etc/passwd && ln -sf /etc/shadow /data/a');
    await snaps.snapshotUpper(fork.handles, layer('hostile'));
    assert.deepEqual(await snaps.diffLayer(layer('hostile'), [base, env.rootfs]), [
      { path: '/data/a', kind: 'modified', what: ['type'] },
      { path: '/data/root', kind: 'modified', what: ['type'], opaque: true },
      { path: '/data/root/etc', kind: 'added' },
      { path: '/data/root/etc/passwd', kind: 'added' },
    ]);
  });

  it('diff of a running sandbox reads its upper frozen and thaws it', async () => {
    const sb = await create();
    await sh(sb, CHANGES);
    assert.deepEqual(await snaps.diffUpper(sb.handles, [env.rootfs]), EXPECTED_DIFF);
    assert.equal(await sh(sb, 'echo alive'), 'alive\n');
  });

  it('the changes export as an OCI layer tar that round-trips onto the image', async () => {
    const idMap = { hostId: HOST_ID, size: ID_RANGE };
    const changesTar = join(env.dir, 'changes.tar');
    assert.deepEqual(await snaps.exportChanges(base, [env.rootfs], createWriteStream(changesTar), { idMap }), EXPECTED_DIFF);
    const { stdout } = await run('tar', ['-tvf', changesTar]);
    assert.match(stdout, /etc\/\.wh\.hostname/);
    assert.match(stdout, /usr\/\.wh\.\.wh\.\.opq/);
    assert.match(stdout, /1000\/1000 .* data\/a\n/, 'owners are shifted back to the sandbox range');
    const imageTar = join(env.dir, 'image.tar');
    await run('tar', ['-C', env.rootfs, '--numeric-owner', '--owner=0', '--group=0', '-cf', imageTar, '.']);
    const dest = join(env.dir, 'roundtrip');
    const layers = [{ path: imageTar, what: 'image' }, { path: changesTar, what: 'changes' }];
    await unpackLayers({ layers, dest, idMap, limits: DEFAULT_LIMITS });
    const want = await withOverlay([base, env.rootfs], env.dir, (root) => listing(root));
    assert.deepEqual([...(await listing(dest)).entries()], [...want.entries()]);
  });

  it('flatten of a chain deeper than the limit gives the view of the chain (whiteouts, opaque dirs)', async () => {
    // Layer i adds d/f<i> and k<i>, deletes k<i-1> (whiteout); layer 5 makes d opaque.
    const chain: string[] = [];
    for (let i = 0; i <= DEFAULT_MAX_LAYER_DEPTH; i++) {
      const dir = layer(`deep-${i}`);
      await mkdir(join(dir, 'd'), { recursive: true });
      await writeFile(join(dir, 'd', `f${i}`), `layer ${i}\n`);
      await writeFile(join(dir, `k${i}`), `${i}`);
      if (i > 0) await run('mknod', [join(dir, `k${i - 1}`), 'c', '0', '0']);
      if (i === 5) await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(dir, 'd')]);
      chain.unshift(dir);
    }
    chain.push(env.rootfs);
    await snaps.flattenLayers(chain, layer('deep-flat'));
    const want = await withOverlay(chain, env.dir, (root) => listing(root));
    const got = await listing(layer('deep-flat'));
    assert.deepEqual([...got.entries()], [...want.entries()]);
    assert.deepEqual([...got.keys()].filter((k) => /^(d\/f|k)\d/.test(k)), ['d/f5', 'd/f6', 'd/f7', 'd/f8', `k${DEFAULT_MAX_LAYER_DEPTH}`]);
  });

  it('flatten of a chain gives the same view as the chain', async () => {
    const fork = await create([base, env.rootfs]);
    await sh(fork, 'rm /data/a && echo b > /data/b && rm -r /usr/local && ln -s b /data/to-b');
    await snaps.snapshotUpper(fork.handles, layer('top'));
    const chain = [layer('top'), base, env.rootfs];
    const flat = await snaps.flattenLayers(chain, layer('flat'));
    assert.ok(flat.bytes > 0);
    const want = await withOverlay(chain, env.dir, (root) => listing(root));
    const got = await listing(layer('flat'));
    assert.deepEqual([...got.entries()], [...want.entries()]);
    assert.ok(!got.has('data/a') && got.has('data/b') && !got.has('etc/hostname') && !got.has('usr/local'));
    const sb = await create([layer('flat')]);
    assert.equal(await sh(sb, 'cat /data/b; readlink /data/to-b'), 'b\nb\n');
  });

  it('the CRIU probe answers without throwing', async () => {
    const probe = await snaps.probeMemorySnapshots();
    assert.ok(probe.reason.length > 0);
    const check = spawnSync('criu', ['check'], { encoding: 'utf8' });
    if (check.status !== 0) {
      assert.equal(probe.available, false);
      assert.match(probe.reason, /criu check/);
    }
  });
});
