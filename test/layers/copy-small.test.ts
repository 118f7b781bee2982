// The in-process copy of a small layer against `cp -a` on the same tree: types, contents,
// modes (setuid after the chown), shifted owners, xattrs (trusted.overlay.opaque), hardlinks,
// symlinks and times must match; trees it cannot copy faithfully are left to cp untouched.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { chmod, chown, lchown, link, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { copySmallTree } from '@shed/server';
import { HOST_ID } from '../conformance/env.js';
import { cleanupTempDirs, leakCheckedTempDir } from '../helpers/leaks.js';
import { listing } from './tree.js';

const run = promisify(execFile);

/** Every xattr under `root`, with `root` cut from the names (getfattr: no symlink followed). */
async function xattrs(root: string): Promise<string> {
  const { stdout } = await run('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root]);
  return stdout.split(root).join('<root>');
}

async function buildTree(src: string): Promise<void> {
  await mkdir(join(src, 'd/sub'), { recursive: true });
  await writeFile(join(src, 'd/a'), 'some data\n');
  await link(join(src, 'd/a'), join(src, 'd/hard'));
  await writeFile(join(src, 'setuid'), '#!/bin/sh\n');
  await writeFile(join(src, 'empty'), '');
  await symlink('/etc/passwd', join(src, 'd/link'));
  await symlink('/', join(src, 'root'));
  await chown(join(src, 'd'), HOST_ID, HOST_ID + 1);
  await chmod(join(src, 'd'), 0o750);
  await chown(join(src, 'd/a'), HOST_ID + 1000, HOST_ID + 1000);
  await chmod(join(src, 'd/a'), 0o640);
  await chown(join(src, 'setuid'), HOST_ID, HOST_ID);
  await chmod(join(src, 'setuid'), 0o4755);
  await lchown(join(src, 'd/link'), HOST_ID + 5, HOST_ID + 5);
  await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(src, 'd/sub')]);
  await run('setfattr', ['-n', 'user.note', '-v', 'kept', join(src, 'd/a')]);
  await utimes(join(src, 'd/a'), 1_600_000_000.123456, 1_600_000_001.654321);
  await utimes(join(src, 'd/sub'), 1_500_000_000, 1_500_000_000);
}

describe('copySmallTree (in-process copy of a small layer)', () => {
  let dir = '';
  before(async () => {
    dir = await leakCheckedTempDir('shed-copy-small-');
  });
  after(cleanupTempDirs);

  test('gives what cp -a gives', async () => {
    const src = join(dir, 'src');
    await buildTree(src);
    assert.equal(copySmallTree(src, join(dir, 'mine')), true);
    await run('cp', ['-a', '--no-target-directory', src, join(dir, 'cp')]);
    assert.deepEqual(await listing(join(dir, 'mine')), await listing(join(dir, 'cp')));
    assert.equal(await xattrs(join(dir, 'mine')), await xattrs(join(dir, 'cp')));
    assert.match(await xattrs(join(dir, 'mine')), /trusted\.overlay\.opaque=0x79/);
    assert.equal(lstatSync(join(dir, 'mine/d/a')).ino, lstatSync(join(dir, 'mine/d/hard')).ino, 'a hardlink stays one inode');
    // Not atimes: each copy's own reads of the source move them (relatime).
    for (const p of ['', 'd', 'd/a', 'd/sub', 'd/link', 'setuid', 'root']) {
      const [a, b] = [lstatSync(join(dir, 'mine', p)), lstatSync(join(dir, 'cp', p))];
      assert.ok(Math.abs(a.mtimeMs - b.mtimeMs) < 0.001, `${p || '/'}: mtime ${a.mtimeMs} vs cp's ${b.mtimeMs} (within a microsecond)`);
    }
  });

  test('leaves whiteouts, sparse files and big trees to cp, writing nothing', async () => {
    const cases: [string, (src: string) => Promise<unknown>, number?][] = [
      ['whiteout', (src) => run('mknod', [join(src, 'gone'), 'c', '0', '0'])],
      ['sparse', (src) => run('truncate', ['-s', '1M', join(src, 'holes')])],
      ['many', (src) => Promise.all([1, 2, 3, 4].map((i) => writeFile(join(src, `f${i}`), 'x'))), 3],
    ];
    for (const [name, make, maxEntries] of cases) {
      const src = join(dir, `src-${name}`);
      await mkdir(src);
      await make(src);
      const opts = maxEntries === undefined ? {} : { limits: { maxEntries, maxBytes: 1 << 20 } };
      assert.equal(copySmallTree(src, join(dir, `out-${name}`), opts), false, name);
      assert.equal(existsSync(join(dir, `out-${name}`)), false, `${name}: nothing written`);
    }
  });
});
