// The two-pass capture of a big upper (drivers/container/layers/two-pass.ts) on a real tree
// with the real cp: the tree is recorded and copied (pass 1), changed the ways a sandbox can
// change its upper, then caught up (pass 2, which the driver runs frozen). The result must
// equal a `cp -a` of the tree taken at that point, including what pass 2 cannot see through
// mtime (a file rewritten at its old size with its mtime set back).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstatSync, readdirSync, writeFileSync } from 'node:fs';
import { chmod, link, mkdir, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { catchUpCopy, copyTree, recordTree } from '@shed/server';
import { cleanupTempDirs, leakCheckedTempDir } from '../helpers/leaks.js';
import { listing } from './tree.js';

const run = promisify(execFile);

/** Contents, types, modes, owners (listing), xattrs and hardlink groups; mtimes by path. */
async function fingerprint(root: string): Promise<{ text: string; mtimes: Map<string, number> }> {
  const lines: string[] = [];
  const mtimes = new Map<string, number>();
  const groups = new Map<number, string>();
  for (const [path, what] of await listing(root)) {
    const st = lstatSync(join(root, path));
    const group = st.nlink > 1 && !st.isDirectory() ? (groups.get(st.ino) ?? (groups.set(st.ino, path), path)) : '';
    lines.push(`${path} ${what} link=${group}`);
    mtimes.set(path, st.mtimeMs);
  }
  const { stdout } = await run('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root]);
  return { text: `${lines.join('\n')}\n${stdout.split(root).join('<root>')}`, mtimes };
}

/** Equal trees; mtimes to 10 µs (Node's utimes takes a double of seconds, cp keeps nanoseconds). */
async function assertSameTree(actual: string, expected: string): Promise<void> {
  const a = await fingerprint(actual);
  const e = await fingerprint(expected);
  assert.equal(a.text, e.text);
  for (const [path, ms] of e.mtimes) assert.ok(Math.abs((a.mtimes.get(path) ?? 0) - ms) < 0.01, `mtime of ${path}: ${a.mtimes.get(path)} ≠ ${ms}`);
}

/** A git-like upper: `dirs` directories of `perDir` small files, plus the overlay specifics. */
async function buildUpper(src: string, dirs: number, perDir: number): Promise<void> {
  for (let d = 0; d < dirs; d++) {
    await mkdir(join(src, `objects/${d}`), { recursive: true });
    for (let f = 0; f < perDir; f++) await writeFile(join(src, `objects/${d}/${f}`), `object ${d}/${f}\n`);
  }
  await mkdir(join(src, 'etc'));
  await writeFile(join(src, 'etc/config'), 'before\n');
  await writeFile(join(src, 'etc/mode'), 'chmod only\n');
  await writeFile(join(src, 'etc/linked'), 'one inode\n');
  await link(join(src, 'etc/linked'), join(src, 'etc/linked2'));
  await symlink('/etc/passwd', join(src, 'etc/link'));
  await mkdir(join(src, 'opaque'));
  await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(src, 'opaque')]);
  await run('mknod', [join(src, 'etc/hostname'), 'c', '0', '0']); // a whiteout
  await run('truncate', ['-s', '16M', join(src, 'sparse')]);
}

/** Every kind of change a sandbox makes during pass 1. */
async function changeUpper(src: string): Promise<void> {
  await writeFile(join(src, 'objects/3/7'), 'changed\n');
  await rm(join(src, 'objects/4/1'));
  await rm(join(src, 'objects/5'), { recursive: true });
  await writeFile(join(src, 'objects/6/new'), 'created\n');
  await mkdir(join(src, 'fresh/deep'), { recursive: true });
  await writeFile(join(src, 'fresh/deep/x'), 'x\n');
  await run('mknod', [join(src, 'etc/passwd'), 'c', '0', '0']); // an image file deleted: a whiteout
  await run('mknod', [join(src, 'objects/6/gone'), 'c', '0', '0']);
  await link(join(src, 'objects/0/0'), join(src, 'objects/0/hard')); // a new hardlink to an old file
  await chmod(join(src, 'etc/mode'), 0o600); // chmod only: no content, size or mtime change
  await writeFile(join(src, 'etc/linked'), 'ONE INODE\n'); // same size, through one of two names
  // Same size and the mtime set back (touch -d): rsync's quick check would keep the old copy.
  const before = lstatSync(join(src, 'etc/config'));
  await writeFile(join(src, 'etc/config'), 'AFTER!\n');
  await utimes(join(src, 'etc/config'), before.atime, before.mtime);
  await run('setfattr', ['-x', 'trusted.overlay.opaque', join(src, 'opaque')]);
  await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(src, 'objects/7')]);
  await rename(join(src, 'objects/8/2'), join(src, 'objects/8/3')); // a name now on another inode
  await run('truncate', ['-s', '32M', join(src, 'sparse')]);
  await rm(join(src, 'etc/link'));
  await symlink('/', join(src, 'etc/link'));
}

describe('two-pass capture of a big upper', () => {
  let dir = '';
  before(async () => {
    dir = await leakCheckedTempDir('shed-two-pass-');
  });
  after(cleanupTempDirs);

  test('pass 2 makes the copy equal to the tree as of its start, whatever changed in pass 1', async () => {
    const src = join(dir, 'upper');
    await mkdir(src);
    await buildUpper(src, 20, 100);
    const record = recordTree(src);
    assert.ok(record !== null && record.entries.size > 2000, 'the tree is recorded');
    await copyTree(src, join(dir, 'copy'), { live: true });
    await changeUpper(src);
    await copyTree(src, join(dir, 'reference'));
    await catchUpCopy(src, join(dir, 'copy'), record, { timeoutMs: 60_000 });
    await assertSameTree(join(dir, 'copy'), join(dir, 'reference'));
    assert.ok(lstatSync(join(dir, 'copy/sparse')).blocks * 512 < 1 << 20, 'the sparse file stays sparse');
    const passwd = lstatSync(join(dir, 'copy/etc/passwd'));
    assert.ok(passwd.isCharacterDevice() && passwd.rdev === 0, 'the new whiteout is a 0/0 device');
    assert.equal(lstatSync(join(dir, 'copy/objects/0/hard')).ino, lstatSync(join(dir, 'copy/objects/0/0')).ino, 'the new hardlink is linked');
  });

  test('a name that is not UTF-8 leaves the tree to the one-pass copy', async () => {
    const src = join(dir, 'latin1');
    await mkdir(join(src, 'd'), { recursive: true });
    writeFileSync(Buffer.from(`${src}/d/caf\xe9`, 'latin1'), 'x');
    assert.equal(recordTree(src), null);
  });

  test('an unchanged tree is caught up without copying anything again', async () => {
    const src = join(dir, 'quiet');
    await mkdir(src);
    await buildUpper(src, 12, 100);
    // Older than the record's clock slack: pass 2 trusts ctimes this old.
    await new Promise((r) => setTimeout(r, 100));
    const record = recordTree(src);
    assert.ok(record !== null);
    await copyTree(src, join(dir, 'quiet-copy'), { live: true });
    const inodes = readdirSync(join(dir, 'quiet-copy/objects/3')).map((n) => lstatSync(join(dir, 'quiet-copy/objects/3', n)).ino);
    await catchUpCopy(src, join(dir, 'quiet-copy'), record, { timeoutMs: 60_000 });
    const after = readdirSync(join(dir, 'quiet-copy/objects/3')).map((n) => lstatSync(join(dir, 'quiet-copy/objects/3', n)).ino);
    assert.deepEqual(after, inodes, 'pass 1 copies were kept');
    await copyTree(src, join(dir, 'quiet-ref'));
    await assertSameTree(join(dir, 'quiet-copy'), join(dir, 'quiet-ref'));
  });
});
