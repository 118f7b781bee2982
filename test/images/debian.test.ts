// The debian image: debootstrap (minbase, bookworm) from the host's apt mirror, cached as a
// tarball in /var/cache/shed, imported like any rootfs tar. One test: the first build on a
// machine downloads ~100 packages and takes a few minutes; later runs import the cache.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { debianTarball } from '@shed/server';
import { diskState, openTestStore } from './helpers/store.js';

const CACHE = '/var/cache/shed';

describe('built-in debian image', () => {
  it('builds (or imports its cached build) into a working bookworm rootfs', { timeout: 15 * 60_000 }, async () => {
    const cached = await stat(debianTarball(CACHE)).then(() => true, () => false);
    console.log(`# debian: ${cached ? 'importing the cached tarball' : 'running debootstrap (minutes)'} ${debianTarball(CACHE)}`);
    const t = await openTestStore({ cacheDir: CACHE });
    try {
      const started = performance.now();
      const info = await t.store.build('debian');
      console.log(`# debian: ${((performance.now() - started) / 1000).toFixed(1)} s, ${(info.sizeBytes / 2 ** 20).toFixed(0)} MiB allocated`);
      assert.deepEqual(info.names, ['debian']);
      const { rootfs } = await t.store.resolve('debian');
      assert.match(await readFile(join(rootfs, 'etc/debian_version'), 'utf8'), /^12\./);
      const passwd = await lstat(join(rootfs, 'usr/bin/passwd'));
      assert.equal(passwd.mode & 0o4000, 0o4000, 'setuid survives');
      assert.equal(passwd.uid, 100000);
      const shadow = await lstat(join(rootfs, 'etc/shadow'));
      assert.equal(shadow.gid, 100000 + 42, 'group shadow (42) is shifted');
      const dev = await readdir(join(rootfs, 'dev')).catch(() => []);
      for (const n of dev) assert.ok(!(await lstat(join(rootfs, 'dev', n))).isCharacterDevice(), `no device node ${n}`);
      const r = spawnSync('chroot', [rootfs, '/bin/bash', '-c', 'dpkg-query -W -f=\'${Package}\\n\' apt coreutils | sort'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'apt\ncoreutils\n');
      assert.deepEqual((await diskState(t.dataDir)).tmp, []);
      assert.deepEqual((await readdir(CACHE)).filter((n) => n.startsWith('.tmp-')), [], 'no debootstrap work dir left');
    } finally {
      await t.close();
    }
  });
});
