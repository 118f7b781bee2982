// The built-in default image: busybox-static, built offline on first resolve, deterministic.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, lstat, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { diskState, openTestStore, type TestStore } from './helpers/store.js';

describe('built-in default image', () => {
  let t: TestStore;
  let rootfs: string;
  let digest: string;

  before(async () => {
    t = await openTestStore();
  });
  after(async () => t.close());

  it('is built once by concurrent first resolves', async () => {
    const start = performance.now();
    const [a, b, c] = await Promise.all([t.store.resolve('default'), t.store.resolve('default'), t.store.resolve('default')]);
    const ms = performance.now() - start;
    console.log(`# default image: built and resolved in ${ms.toFixed(0)} ms, ${a.info.sizeBytes} bytes allocated`);
    assert.equal(a.info.digest, b.info.digest);
    assert.equal(a.info.digest, c.info.digest);
    assert.equal((await t.store.list()).length, 1);
    assert.deepEqual(a.info.names, ['default']);
    assert.equal(a.info.source, 'builtin');
    assert.equal((await diskState(t.dataDir)).images.length, 1, 'one unpack directory');
    rootfs = a.rootfs;
    digest = a.info.digest;
  });

  it('holds busybox, applet symlinks and the files a shell needs, shifted to the sandbox ids', async () => {
    const bb = await lstat(join(rootfs, 'bin/busybox'));
    assert.ok(bb.isFile());
    assert.equal(bb.mode & 0o777, 0o755);
    assert.equal(bb.uid, 100000);
    for (const tool of ['bin/sh', 'bin/ls', 'bin/cat', 'usr/bin/env']) assert.equal(await readlink(join(rootfs, tool)), '/bin/busybox', tool);
    assert.match(await readFile(join(rootfs, 'etc/passwd'), 'utf8'), /^root:x:0:0:/);
    assert.match(await readFile(join(rootfs, 'etc/group'), 'utf8'), /^root:x:0:/);
    assert.match(await readFile(join(rootfs, 'etc/hosts'), 'utf8'), /127\.0\.0\.1\tlocalhost/);
    assert.equal((await lstat(join(rootfs, 'tmp'))).mode & 0o7777, 0o1777);
    assert.equal((await lstat(join(rootfs, 'root'))).mode & 0o7777, 0o700);
    for (const mp of ['proc', 'sys', 'dev']) assert.ok((await lstat(join(rootfs, mp))).isDirectory(), mp);
  });

  it('runs a shell inside a user namespace that maps sandbox root to the shifted range', async () => {
    // As a runtime does: a process running as host id 100000 enters a new user namespace
    // and chroots into the rootfs; its shell waits on stdin while this (root) process writes
    // the id maps, 0 → 100000 for 65536 ids. The data dir must be traversable by that id.
    await chmod(t.dataDir, 0o711);
    const child = spawn('unshare', ['--user', '--mount', '--root', rootfs, '/bin/sh', '-c', 'read go; id -u; ls -ln /bin/busybox; touch /tmp/x && echo wrote'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      uid: 100000,
      gid: 100000,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The namespace exists once unshare has made it; poll its uid_map until writable (a
    // process start can take a while on a loaded host).
    for (const deadline = Date.now() + 10_000; ;) {
      const ok = await writeFile(`/proc/${child.pid}/uid_map`, '0 100000 65536\n').then(() => true, () => false);
      if (ok || child.exitCode !== null || Date.now() > deadline) break;
      await sleep(10);
    }
    await writeFile(`/proc/${child.pid}/gid_map`, '0 100000 65536\n');
    child.stdin.end('go\n');
    assert.equal(await exited, 0, err);
    const [uid, ls] = out.split('\n');
    assert.equal(uid, '0', 'host id 100000 is root inside');
    assert.match(ls ?? '', /^-rwxr-xr-x\s+1 0\s+0 /, `files appear owned by root inside: ${ls}`);
    assert.match(out, /wrote/, 'sandbox root may write the sticky /tmp it owns');
    await rm(join(rootfs, 'tmp', 'x'));
  });

  it('is deterministic: another data dir builds the same digest', async () => {
    const other = await openTestStore();
    try {
      assert.equal((await other.store.build('default')).digest, digest);
    } finally {
      await other.close();
    }
  });

  it('is rebuilt to the same digest after removal', async () => {
    const r = await t.store.remove('default');
    assert.equal(r.deleted, digest);
    assert.ok(r.freedBytes > 1_000_000, `freed ${r.freedBytes} bytes`);
    assert.deepEqual(await diskState(t.dataDir), { blobs: [], images: [], tmp: [] });
    assert.equal((await t.store.resolve('default')).info.digest, digest);
  });

  it('resolves by digest, and re-unpacks a rootfs that went missing', async () => {
    await rm(join(t.dataDir, 'images', digest.slice(7)), { recursive: true });
    const fresh = await openTestStoreOn(t);
    const r = await fresh.resolve(digest);
    assert.equal(r.info.digest, digest);
    assert.ok((await lstat(join(r.rootfs, 'bin/busybox'))).isFile());
  });
});

/** A second store over the same data dir and database (a daemon restart). */
async function openTestStoreOn(t: TestStore) {
  const { ImageStore } = await import('@shed/server');
  return ImageStore.open({ dataDir: t.dataDir, repo: t.repo });
}
