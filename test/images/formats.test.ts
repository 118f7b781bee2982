// Every import format ends as an image record with a digest, names and an unpacked rootfs.
import assert from 'node:assert/strict';
import { link, lstat, mkdir, readFile, readdir, readlink, symlink as mkSymlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ShedError } from '@shed/server';
import { Readable } from 'node:stream';
import { dockerArchive, tarDirectory, writeOciLayout } from './helpers/oci.js';
import { diskState, openTestStore, type TestStore } from './helpers/store.js';
import { dir, file, gzip, makeTar, sha256, zstd } from './helpers/tars.js';

describe('image import formats', () => {
  let t: TestStore;
  let base: Buffer;
  let app: Buffer;

  before(async () => {
    t = await openTestStore();
    base = await makeTar([dir('etc/'), file('etc/os', 'base'), dir('bin/'), file('bin/tool', '#!/bin/sh\n', { mode: 0o755 })]);
    app = await makeTar([dir('srv/'), file('srv/app', 'v1'), file('etc/.wh.os', '')]);
  });
  after(async () => t.close());

  async function content(ref: string, rel: string): Promise<string> {
    return readFile(join((await t.store.resolve(ref)).rootfs, rel), 'utf8');
  }

  it('imports an OCI layout directory (gzip and zstd layers), keeping its manifest digest and config', async () => {
    const img = await writeOciLayout(join(t.work, 'oci'), [gzip(base), zstd(app)]);
    const info = await t.store.import(join(t.work, 'oci'), { names: ['oci-dir:1'] });
    assert.equal(info.digest, img.manifestDigest);
    assert.equal(info.source, 'oci-layout');
    assert.deepEqual(info.names, ['oci-dir:1']);
    assert.deepEqual(info.config, { env: ['PATH=/usr/bin:/bin', 'APP=1'], workingDir: '/srv', user: '1000' });
    assert.equal(await content('oci-dir:1', 'srv/app'), 'v1');
    assert.ok(info.sizeBytes > 0);
    const state = await diskState(t.dataDir);
    for (const d of [img.manifestDigest, img.configDigest, ...img.layerDigests]) assert.ok(state.blobs.includes(d.slice(7)), `blob ${d} stored`);
  });

  it('imports the same layout as a tar to the same digest, named from its annotation', async () => {
    const layout = join(t.work, 'oci-named');
    const img = await writeOciLayout(layout, [gzip(base), zstd(app)], { refName: '1', fullName: 'example.org/app:1' });
    tarDirectory(layout, join(t.work, 'oci.tar'));
    const info = await t.store.import(join(t.work, 'oci.tar'));
    assert.equal(info.digest, img.manifestDigest);
    assert.deepEqual([...info.names].sort(), ['example.org/app:1', 'oci-dir:1']);
    assert.equal((await t.store.list()).length, 1, 'one image, two names');
  });

  it('picks an image of a multi-image layout by tag', async () => {
    const layout = join(t.work, 'multi');
    const a = await writeOciLayout(join(t.work, 'ma'), [base], { refName: 'a' });
    const b = await writeOciLayout(join(t.work, 'mb'), [app], { refName: 'b' });
    await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
    for (const src of ['ma', 'mb']) {
      for (const n of await readdir(join(t.work, src, 'blobs', 'sha256'))) {
        await writeFile(join(layout, 'blobs', 'sha256', n), await readFile(join(t.work, src, 'blobs', 'sha256', n)));
      }
    }
    const idx = (p: string) => readFile(join(t.work, p, 'index.json'), 'utf8').then((s) => JSON.parse(s).manifests[0]);
    await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [await idx('ma'), await idx('mb')] }));
    await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const err = await t.store.import(layout, { names: ['m'] }).catch((e: unknown) => e);
    assert.ok(err instanceof ShedError && err.code === 'invalid_argument' && /pick one with a tag \(a, b\)/.test(err.message), String(err));
    assert.equal((await t.store.import(layout, { names: ['m:b'], tag: 'b' })).digest, b.manifestDigest);
    assert.notEqual(a.manifestDigest, b.manifestDigest);
  });

  it('imports a docker-archive tar (docker save): RepoTags become names, a linked duplicate layer resolves', async () => {
    const layers = [base, app, base];
    await writeFile(join(t.work, 'docker.tar'), await dockerArchive(layers, ['docker.io/library/app:2', 'app:latest'], { duplicateLastAsSymlink: true }));
    const info = await t.store.import(join(t.work, 'docker.tar'));
    assert.equal(info.source, 'docker-archive');
    assert.deepEqual([...info.names].sort(), ['app:latest', 'docker.io/library/app:2']);
    assert.equal(await content('app', 'etc/os'), 'base', "'app' resolves to 'app:latest'; the third layer restores etc/os");
    assert.equal(await content('docker.io/library/app:2', 'srv/app'), 'v1');
    const manifest = JSON.parse(await readFile(join(t.dataDir, 'blobs', 'sha256', info.digest.slice(7)), 'utf8'));
    assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(manifest.layers.map((l: { digest: string }) => l.digest), [sha256(base), sha256(app), sha256(base)]);
  });

  it('imports rootfs tars, plain, gzip and zstd, synthesising config and manifest', async () => {
    const digests = [];
    for (const [name, bytes] of [['plain', base], ['gz', gzip(base)], ['zst', zstd(base)]] as const) {
      await writeFile(join(t.work, `r.${name}`), bytes);
      const info = await t.store.import(join(t.work, `r.${name}`), { names: [`rootfs-${name}`] });
      assert.equal(info.source, 'rootfs-tar');
      assert.equal(await content(`rootfs-${name}`, 'etc/os'), 'base');
      assert.deepEqual(info.config.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
      digests.push(info.digest);
      const manifest = JSON.parse(await readFile(join(t.dataDir, 'blobs', 'sha256', info.digest.slice(7)), 'utf8'));
      const config = JSON.parse(await readFile(join(t.dataDir, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8'));
      assert.deepEqual(config.rootfs.diff_ids, [sha256(base)], 'the diff id is the uncompressed tar digest');
    }
    assert.equal(new Set(digests).size, 3, 'compression changes the layer blob, hence the digest');
  });

  it('requires a name for an archive that carries none', async () => {
    await writeFile(join(t.work, 'noname.tar'), base);
    const err = await t.store.import(join(t.work, 'noname.tar')).catch((e: unknown) => e);
    assert.ok(err instanceof ShedError && err.code === 'invalid_argument' && /give the image one/.test(err.message), String(err));
    const bad = await t.store.import(join(t.work, 'noname.tar'), { names: ['Bad Name!'] }).catch((e: unknown) => e);
    assert.ok(bad instanceof ShedError && bad.code === 'invalid_argument', String(bad));
  });

  it('imports a directory as a rootfs, hardlinks and symlinks included', async () => {
    const d = join(t.work, 'tree');
    await mkdir(join(d, 'usr', 'bin'), { recursive: true });
    await writeFile(join(d, 'usr', 'bin', 'x'), 'tree');
    await mkSymlink('usr/bin', join(d, 'bin'));
    await link(join(d, 'usr', 'bin', 'x'), join(d, 'usr', 'bin', 'y'));
    const info = await t.store.import(d, { names: ['tree'] });
    assert.equal(info.source, 'dir');
    assert.equal(await content('tree', 'usr/bin/x'), 'tree');
    const { rootfs } = await t.store.resolve('tree');
    assert.equal(await readlink(join(rootfs, 'bin')), 'usr/bin');
    const [x, y] = [await lstat(join(rootfs, 'usr/bin/x')), await lstat(join(rootfs, 'usr/bin/y'))];
    assert.equal(x.ino, y.ino, 'a hardlinked pair stays one inode');
    const again = await t.store.import(d, { names: ['tree:again'] });
    assert.equal(again.digest, info.digest, 'the same tree packs to the same digest');
  });

  it('says not_found for a path that does not exist and for an unknown image', async () => {
    const e1 = await t.store.import(join(t.work, 'nope')).catch((e: unknown) => e);
    assert.ok(e1 instanceof ShedError && e1.code === 'not_found', String(e1));
    const e2 = await t.store.resolve('nothing-here:1').catch((e: unknown) => e);
    assert.ok(e2 instanceof ShedError && e2.code === 'not_found' && /shed image pull/.test(e2.message), String(e2));
  });

  it('imports an uploaded archive stream under the name asked for', async () => {
    const tar = await dockerArchive([base], ['ignored:1']);
    const info = await t.store.importStream(Readable.from([tar]), { names: ['uploaded:1'] });
    assert.deepEqual(info.names, ['uploaded:1'], 'the upload is named as asked, not by its RepoTags');
    assert.equal(await content('uploaded:1', 'etc/os'), 'base');
    await t.store.remove('uploaded:1');
    assert.ok(!(await t.store.list()).some((i) => i.digest === info.digest));
    const pruned = await t.store.prune({});
    assert.deepEqual(pruned.deleted, []);
  });

  it('stops an aborted import part way, keeping nothing of it', async () => {
    const many = await makeTar(Array.from({ length: 3000 }, (_, i) => file(`many/f${i}`, `${i}`)));
    await writeFile(join(t.work, 'many.tar'), many);
    const before = await diskState(t.dataDir);
    const ac = new AbortController();
    let unpacking = false;
    const err = await t.store
      .import(join(t.work, 'many.tar'), {
        names: ['aborted:1'],
        signal: ac.signal,
        onProgress: (p) => {
          if (p.phase === 'stage' && !unpacking) {
            unpacking = true;
            setTimeout(() => ac.abort(new Error('stopped by test')), 20);
          }
        },
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof Error && err.message === 'stopped by test', String(err));
    assert.deepEqual(await diskState(t.dataDir), before, 'no blob, rootfs or temp dir of the aborted import');
    await assert.rejects(t.store.resolve('aborted:1'), (e: unknown) => e instanceof ShedError && e.code === 'not_found');
  });

  it('leaves no temp files after all these imports', async () => {
    assert.deepEqual((await diskState(t.dataDir)).tmp, []);
  });
});
