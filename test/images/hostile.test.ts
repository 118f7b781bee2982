// Hostile archives: each is refused with invalid_argument naming the entry (or, for device
// nodes, neutralised), touches nothing outside the rootfs, and leaves no blob, rootfs or
// temp file behind.
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ShedError, type ImageLimits } from '@shed/server';
import { dockerArchive, writeOciLayout } from './helpers/oci.js';
import { diskState, openTestStore, type TestStore } from './helpers/store.js';
import { dir, file, gzip, hardlink, makeTar, symlink, type TarSpec } from './helpers/tars.js';

describe('hostile archives', () => {
  let t: TestStore | undefined;
  let victim: string;

  before(async () => {
    victim = await mkdtemp(join(tmpdir(), 'shed-victim-'));
    await writeFile(join(victim, 'precious'), 'untouched');
  });
  after(async () => rm(victim, { recursive: true, force: true }));
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function store(limits: Partial<ImageLimits> = {}): Promise<TestStore> {
    await t?.close();
    t = await openTestStore({ limits });
    return t;
  }

  /** Imports `layer` as a rootfs tar and expects invalid_argument mentioning `needle`. */
  async function refuses(layer: Buffer, needle: string, limits: Partial<ImageLimits> = {}): Promise<ShedError> {
    const s = await store(limits);
    const path = join(s.work, 'layer.tar');
    await writeFile(path, layer);
    const err = await s.store.import(path, { names: ['evil'] }).then(
      () => assert.fail('the import should have been refused'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ShedError, `a ShedError, got ${String(err)}`);
    assert.equal(err.code, 'invalid_argument', err.message);
    assert.ok(err.message.includes(needle), `message names '${needle}': ${err.message}`);
    await assertNothingLeft(s);
    return err;
  }

  async function assertNothingLeft(s: TestStore): Promise<void> {
    assert.deepEqual(await diskState(s.dataDir), { blobs: [], images: [], tmp: [] }, 'no blob, rootfs or temp file is left behind');
    assert.deepEqual(await s.store.list(), []);
    assert.deepEqual(await readdir(victim), ['precious']);
    assert.equal(await readFile(join(victim, 'precious'), 'utf8'), 'untouched');
  }

  it('refuses ../ entry names', async () => {
    await refuses(await makeTar([file('ok', 'x'), file('../escape', 'x')]), "'../escape'");
    await refuses(await makeTar([file('a/../../escape', 'x')]), "'a/../../escape'");
  });

  it('refuses absolute entry names', async () => {
    await refuses(await makeTar([file(`${victim}/planted`, 'x')]), `'${victim}/planted'`);
  });

  it('refuses writing through a symlink that points out of the rootfs', async () => {
    const err = await refuses(await makeTar([symlink('out', victim), file('out/planted', 'x')]), "'out/planted'");
    assert.match(err.message, /symlink/);
    await refuses(await makeTar([symlink('up', '../../../../../../..'), file(`up${victim}/planted`, 'x')]), 'symlink');
    await refuses(await makeTar([symlink('d', victim), dir('d/sub/')]), "'d/sub/'");
  });

  it('refuses a symlink swapped in below an existing directory, in a later layer', async () => {
    const t = await store();
    const l1 = await makeTar([dir('etc/'), file('etc/ok', 'x')]);
    const l2 = await makeTar([symlink('etc', victim)]);
    const l3 = await makeTar([file('etc/planted', 'x')]);
    await writeOciLayout(join(t.work, 'layout'), [l1, gzip(l2), l3]);
    const err = await t.store.import(join(t.work, 'layout'), { names: ['evil'] }).catch((e: unknown) => e);
    assert.ok(err instanceof ShedError && err.code === 'invalid_argument', String(err));
    assert.match(err.message, /layer 3 of 3.*'etc\/planted'.*symlink/);
    await assertNothingLeft(t);
  });

  it('refuses whiteouts and opaque markers under a symlink', async () => {
    await refuses(await makeTar([symlink('v', victim), file('v/.wh.precious', '')]), "'v/.wh.precious'");
    await refuses(await makeTar([symlink('v', victim), file('v/.wh..wh..opq', '')]), "'v/.wh..wh..opq'");
  });

  it('refuses hardlinks to paths outside the rootfs', async () => {
    await refuses(await makeTar([hardlink('hl', '../../etc/passwd')]), "'../../etc/passwd'");
    await refuses(await makeTar([hardlink('hl', '/etc/passwd')]), "'/etc/passwd'");
    await refuses(await makeTar([symlink('s', '/etc'), hardlink('hl', 's/passwd')]), "'hl'");
    await refuses(await makeTar([hardlink('hl', 'missing')]), 'does not exist');
  });

  it('skips device nodes and FIFOs: the sandbox /dev comes from the runtime', async () => {
    const t = await store();
    const tar = await makeTar([
      dir('dev/'),
      { header: { name: 'dev/evil-null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 } },
      { header: { name: 'dev/evil-sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660 } },
      { header: { name: 'fifo', type: 'fifo', mode: 0o644 } },
      file('ok', 'fine'),
    ]);
    await writeFile(join(t.work, 'l.tar'), tar);
    await t.store.import(join(t.work, 'l.tar'), { names: ['devs'] });
    const { rootfs } = await t.store.resolve('devs');
    assert.deepEqual((await readdir(rootfs)).sort(), ['dev', 'ok']);
    assert.deepEqual(await readdir(join(rootfs, 'dev')), []);
  });

  it('refuses ids outside the sandbox range', async () => {
    await refuses(await makeTar([file('f', 'x', { uid: 65536 })]), 'uid 65536');
    await refuses(await makeTar([file('f', 'x', { gid: 70000 })]), 'gid 70000');
    await refuses(await makeTar([{ header: { name: 'paxuid', type: 'file', mode: 0o644, pax: { uid: '4000000000' } }, body: 'x' }]), "'paxuid'");
  });

  it('refuses an entry over the per-file size cap', async () => {
    await refuses(await makeTar([file('big', Buffer.alloc(2 << 20))]), "'big'", { maxEntryBytes: 1 << 20 });
  });

  it('refuses an image over the total unpacked size cap', async () => {
    const files: TarSpec[] = Array.from({ length: 5 }, (_, i) => file(`f${i}`, Buffer.alloc(300 << 10)));
    await refuses(await makeTar(files), 'unpacked bytes', { maxImageBytes: 1 << 20 });
  });

  it('stops a decompression bomb at the layer cap', async () => {
    const bomb = gzip(await makeTar([file('zeros', Buffer.alloc(64 << 20))]));
    assert.ok(bomb.length < 200 << 10, `the bomb is small compressed (${bomb.length} bytes)`);
    await refuses(bomb, 'decompression bomb', { maxLayerBytes: 8 << 20 });
  });

  it('stops a compressed archive that inflates past the image cap while staging', async () => {
    const layer = await makeTar([file('zeros', Buffer.alloc(16 << 20))]);
    const bomb = gzip(await dockerArchive([layer], ['bomb:1']));
    await refuses(bomb, 'decompression bomb', { maxImageBytes: 4 << 20 });
  });

  it('refuses a header that claims more bytes than the archive has', async () => {
    const tar = await makeTar([file('claims', Buffer.alloc(4096, 1))]);
    await refuses(tar.subarray(0, 1024), 'not a readable tar');
  });

  it('refuses too-deep paths and overlong names', async () => {
    await refuses(await makeTar([file(`${'d/'.repeat(200)}f`, 'x')]), 'path components');
    await refuses(await makeTar([file(`${'n'.repeat(300)}`, 'x')]), 'longer than 255 bytes');
    await refuses(await makeTar([file(`${'abcdefgh/'.repeat(100)}f`, 'x')]), 'longer than 512 bytes', { maxNameBytes: 512 });
  });

  it('refuses an archive with too many entries', async () => {
    const files = Array.from({ length: 20 }, (_, i) => file(`f${i}`, ''));
    await refuses(await makeTar(files), 'limit of 10 entries', { maxEntries: 10 });
  });

  it('refuses a file that is not a tar', async () => {
    const t = await store();
    await writeFile(join(t.work, 'junk'), Buffer.alloc(4096, 0x41));
    const err = await t.store.import(join(t.work, 'junk'), { names: ['junk'] }).catch((e: unknown) => e);
    assert.ok(err instanceof ShedError && err.code === 'invalid_argument', String(err));
    await assertNothingLeft(t);
  });

  it('refuses an OCI layout whose blob does not match its digest, keeping no blob', async () => {
    const t = await store();
    const layout = join(t.work, 'layout');
    const img = await writeOciLayout(layout, [await makeTar([file('a', 'original')])]);
    const layerFile = join(layout, 'blobs', 'sha256', (img.layerDigests[0] ?? '').slice(7));
    await writeFile(layerFile, await makeTar([file('a', 'tampered')]));
    const err = await t.store.import(layout, { names: ['x'] }).catch((e: unknown) => e);
    assert.ok(err instanceof ShedError && err.code === 'invalid_argument', String(err));
    assert.match(err.message, /tampered/);
    await assertNothingLeft(t);
  });

  it('refuses manifest paths that leave a docker archive', async () => {
    const t = await store();
    const d = join(t.work, 'archive');
    await mkdir(d);
    await writeFile(join(d, 'manifest.json'), JSON.stringify([{ Config: '../../../etc/passwd', RepoTags: ['x:1'], Layers: [] }]));
    const err = await t.store.import(d).catch((e: unknown) => e);
    assert.ok(err instanceof ShedError && err.code === 'invalid_argument', String(err));
    assert.match(err.message, /outside the archive/);
    assert.equal((await lstat(join(victim, 'precious'))).isFile(), true);
    await assertNothingLeft(t);
  });
});
