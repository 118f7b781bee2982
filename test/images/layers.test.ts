// Layer semantics on disk: whiteouts, opaque directories, hardlinks, symlinks, modes,
// mtimes and ownership shifted into the sandbox range, through a real import and unpack.
import assert from 'node:assert/strict';
import { lstat, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeOciLayout } from './helpers/oci.js';
import { openTestStore, type TestStore } from './helpers/store.js';
import { dir, file, gzip, hardlink, makeTar, symlink, T0, zstd } from './helpers/tars.js';

const HOST = 100000;

describe('layer unpack', () => {
  let t: TestStore;
  let rootfs: string;

  before(async () => {
    t = await openTestStore();
    const base = await makeTar([
      dir('etc/'),
      file('etc/keep', 'keep'),
      file('etc/gone', 'gone'),
      dir('opq/'),
      file('opq/old1', 'old'),
      dir('opq/sub/'),
      file('opq/sub/old2', 'old'),
      dir('wh/'),
      file('wh/a', 'a'),
      dir('wh/dir/'),
      file('wh/dir/x', 'x'),
      dir('bin/'),
      file('bin/suid', '#!/bin/sh\n', { mode: 0o4755 }),
      file('bin/sgid', '#!/bin/sh\n', { mode: 0o2755, gid: 5 }),
      dir('sticky/', { mode: 0o1777 }),
      dir('data/', { mtime: new Date('2020-02-02T02:02:02Z') }),
      file('data/big', '0123456789', { uid: 1000, gid: 1001 }),
      hardlink('data/hl', 'data/big'),
      symlink('data/sl', '../data/big', { uid: 7, gid: 7 }),
      symlink('data/abs', '/etc/keep'),
      file('data/maxid', 'm', { uid: 65535, gid: 65535 }),
      file('./dot/slash//name', 'normalised'),
    ]);
    const upper = await makeTar([
      file('etc/.wh.gone', ''),
      dir('opq/'),
      file('opq/new', 'new'), // Written before the marker: the opaque must keep it.
      file('opq/.wh..wh..opq', ''),
      file('wh/.wh.dir', ''),
      file('data/big', 'replaced'),
      file('etc/.wh..wh.plnk', ''), // AUFS bookkeeping: ignored.
    ]);
    const top = await makeTar([file('wh', 'now a file'), dir('etc/', { mode: 0o750 })]);
    await writeOciLayout(join(t.work, 'layout'), [gzip(base), zstd(upper), top]);
    const info = await t.store.import(join(t.work, 'layout'), { names: ['layers:1'] });
    rootfs = (await t.store.resolve('layers:1')).rootfs;
    assert.equal(info.names[0], 'layers:1');
  });

  after(async () => t.close());

  const p = (rel: string) => join(rootfs, rel);
  const exists = (rel: string) => lstat(p(rel)).then(() => true, () => false);

  it('applies whiteouts: a file and a whole directory from lower layers disappear', async () => {
    assert.equal(await exists('etc/keep'), true);
    assert.equal(await exists('etc/gone'), false);
    assert.equal(await exists('etc/.wh.gone'), false, 'whiteout markers never materialise');
    assert.equal(await exists('etc/.wh..wh.plnk'), false);
    assert.equal(await exists('wh/dir'), false);
  });

  it('applies opaque directories: lower contents hidden, the same layer kept', async () => {
    assert.equal(await exists('opq/old1'), false);
    assert.equal(await exists('opq/sub'), false);
    assert.equal(await readFile(p('opq/new'), 'utf8'), 'new');
    assert.equal(await exists('opq/.wh..wh..opq'), false);
  });

  it('replaces a directory by a file from a later layer', async () => {
    const st = await lstat(p('wh'));
    assert.ok(st.isFile());
    assert.equal(await readFile(p('wh'), 'utf8'), 'now a file');
  });

  it('keeps setuid, setgid and sticky bits, with ownership shifted by the id map', async () => {
    const suid = await lstat(p('bin/suid'));
    assert.equal(suid.mode & 0o7777, 0o4755);
    assert.equal(suid.uid, HOST);
    const sgid = await lstat(p('bin/sgid'));
    assert.equal(sgid.mode & 0o7777, 0o2755);
    assert.equal(sgid.gid, HOST + 5);
    assert.equal((await lstat(p('sticky'))).mode & 0o7777, 0o1777);
    const maxid = await lstat(p('data/maxid'));
    assert.deepEqual([maxid.uid, maxid.gid], [HOST + 65535, HOST + 65535]);
    const root = await lstat(rootfs);
    assert.deepEqual([root.uid, root.gid], [HOST, HOST]);
  });

  it('writes a replaced file as a new inode: the old hardlink keeps the old bytes', async () => {
    assert.equal(await readFile(p('data/big'), 'utf8'), 'replaced');
    assert.equal(await readFile(p('data/hl'), 'utf8'), '0123456789');
    const hl = await lstat(p('data/hl'));
    assert.deepEqual([hl.uid, hl.gid, hl.nlink], [HOST + 1000, HOST + 1001, 1]);
  });

  it('makes hardlinks share an inode', async () => {
    const t2 = await openTestStore();
    try {
      const tar = await makeTar([file('a', 'shared', { uid: 3 }), hardlink('b', 'a'), dir('d/'), hardlink('d/c', 'a')]);
      await writeOciLayout(join(t2.work, 'l'), [tar]);
      const { rootfs: r } = await t2.store.resolve((await t2.store.import(join(t2.work, 'l'), { names: ['hl'] })).digest);
      const [a, b, c] = await Promise.all(['a', 'b', 'd/c'].map((n) => lstat(join(r, n))));
      assert.ok(a && b && c);
      assert.equal(a.ino, b.ino);
      assert.equal(a.ino, c.ino);
      assert.equal(a.nlink, 3);
      assert.equal(a.uid, HOST + 3);
    } finally {
      await t2.close();
    }
  });

  it('keeps symlinks as they are, owned by the shifted ids, never followed', async () => {
    assert.equal(await readlink(p('data/sl')), '../data/big');
    assert.equal(await readlink(p('data/abs')), '/etc/keep');
    const sl = await lstat(p('data/sl'));
    assert.deepEqual([sl.uid, sl.gid], [HOST + 7, HOST + 7]);
  });

  it('sets mtimes of files, symlinks and directories (directories after their children)', async () => {
    assert.equal((await lstat(p('etc/keep'))).mtime.getTime(), T0.getTime());
    assert.equal((await lstat(p('data/sl'))).mtime.getTime(), T0.getTime());
    assert.equal((await stat(p('data'))).mtime.getTime(), new Date('2020-02-02T02:02:02Z').getTime());
    const etc = await stat(p('etc'));
    assert.equal(etc.mtime.getTime(), T0.getTime());
    assert.equal(etc.mode & 0o7777, 0o750, 'a later layer re-declaring a directory updates its mode');
  });

  it('normalises ./ prefixes and repeated slashes', async () => {
    assert.equal(await readFile(p('dot/slash/name'), 'utf8'), 'normalised');
  });

  it('counts allocated blocks, each hardlinked inode once', async () => {
    const t2 = await openTestStore();
    try {
      const big = Buffer.alloc(1 << 20, 7);
      const tar = await makeTar([file('one', big), hardlink('two', 'one'), hardlink('three', 'one')]);
      await writeOciLayout(join(t2.work, 'l'), [tar]);
      await t2.store.import(join(t2.work, 'l'), { names: ['blocks'] });
      const rec = t2.repo.getImage((await t2.store.resolve('blocks')).info.digest);
      assert.ok(rec);
      assert.ok(rec.diskBytes >= 1 << 20 && rec.diskBytes < (1 << 20) + 64 * 1024, `rootfs counts the 1 MiB inode once (got ${rec.diskBytes})`);
    } finally {
      await t2.close();
    }
  });
});
