// Pull through skopeo from a real registry (Debian's docker-registry on 127.0.0.1), fed by
// skopeo from an OCI layout this test builds.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ShedError, type ImageProgress } from '@shed/server';
import { writeOciLayout } from './helpers/oci.js';
import { alive, startRegistry, type TestRegistry } from './helpers/registry.js';
import { diskState, openTestStore, type TestStore } from './helpers/store.js';
import { dir, file, gzip, makeTar } from './helpers/tars.js';

function push(layout: string, dest: string): void {
  const r = spawnSync('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${dest}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, `skopeo push failed: ${r.stderr}`);
}

describe('image pull', () => {
  let reg: TestRegistry;
  let t: TestStore;
  let pushed: { manifestDigest: string };

  before(async () => {
    reg = await startRegistry();
    t = await openTestStore();
    const base = await makeTar([dir('etc/'), file('etc/os', 'pulled'), file('etc/junk', 'x')]);
    const upper = await makeTar([dir('app/'), file('app/run', '#!/bin/sh\necho hi\n', { mode: 0o755, uid: 1000 }), file('etc/.wh.junk', '')]);
    // A few hundred KiB of incompressible bytes, so progress has something to count.
    const noise = await makeTar([file('app/blob', randomBytes(256 << 10))]);
    const layout = join(t.work, 'layout');
    pushed = await writeOciLayout(layout, [gzip(base), gzip(upper), gzip(noise)], { refName: 'v1' });
    push(layout, `${reg.host}/shed/app:1`);
  });

  after(async () => {
    await t?.close();
    const pid = reg?.pid;
    await reg?.stop();
    if (pid !== undefined) assert.equal(alive(pid), false, 'the registry process is gone');
  });

  it('pulls an image, unpacks it, and names it by its reference', async () => {
    const events: ImageProgress[] = [];
    const info = await t.store.pull(`${reg.host}/shed/app:1`, { onProgress: (p) => events.push(p) });
    assert.deepEqual(info.names, [`${reg.host}/shed/app:1`]);
    assert.equal(info.source, 'pull');
    assert.equal(info.digest, pushed.manifestDigest, 'an OCI manifest keeps its digest through registry and skopeo');
    const { rootfs } = await t.store.resolve(`${reg.host}/shed/app:1`);
    assert.equal(await readFile(join(rootfs, 'etc/os'), 'utf8'), 'pulled');
    assert.equal(await readFile(join(rootfs, 'app/run'), 'utf8'), '#!/bin/sh\necho hi\n');
    await assert.rejects(readFile(join(rootfs, 'etc/junk')), 'the whiteout in layer 2 applied');
    const phases = new Set(events.map((e) => e.phase));
    assert.ok(phases.has('fetch') && phases.has('unpack') && phases.has('commit'), `phases: ${[...phases].join(', ')}`);
    const fetched = events.filter((e) => e.phase === 'fetch').at(-1);
    assert.ok((fetched?.doneBytes ?? 0) > 256 << 10, `fetch progress counts the bytes (${fetched?.doneBytes})`);
    const unpacked = events.filter((e) => e.phase === 'unpack').at(-1);
    assert.equal(unpacked?.doneBytes, unpacked?.totalBytes, 'unpack progress reaches its total');
    assert.deepEqual((await diskState(t.dataDir)).tmp, [], 'skopeo layout and staging are gone');
  });

  it('adds :latest to a reference without a tag', async () => {
    push(join(t.work, 'layout'), `${reg.host}/shed/app:latest`);
    const info = await t.store.pull(`${reg.host}/shed/app`);
    assert.deepEqual([...info.names].sort(), [`${reg.host}/shed/app:1`, `${reg.host}/shed/app:latest`]);
    assert.equal((await t.store.resolve(`${reg.host}/shed/app`)).info.digest, pushed.manifestDigest);
  });

  it('says not_found for an image the registry does not have', async () => {
    const err = await t.store.pull(`${reg.host}/shed/missing:1`).catch((e: unknown) => e);
    assert.ok(err instanceof ShedError && err.code === 'not_found', String(err));
    assert.deepEqual((await diskState(t.dataDir)).tmp, []);
  });

  it('says unavailable when no registry listens', async () => {
    const err = await t.store.pull('127.0.0.1:9/shed/app:1').catch((e: unknown) => e);
    assert.ok(err instanceof ShedError && err.code === 'unavailable', String(err));
    assert.match(err.message, /reachable/);
  });

  it('stops skopeo when the pull is aborted', async () => {
    // A listener that accepts and never answers: skopeo hangs in its request until killed.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port; // Cast: a TCP listener's address is an AddressInfo.
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('cancelled by test')), 300);
      const started = performance.now();
      const err = await t.store.pull(`127.0.0.1:${port}/shed/app:1`, { signal: ac.signal }).catch((e: unknown) => e);
      assert.ok(err instanceof Error && /cancelled by test/.test(err.message), String(err));
      assert.ok(performance.now() - started < 5000, 'the abort ends the pull promptly');
      const left = spawnSync('pgrep', ['-f', `docker://127.0.0.1:${port}/`], { encoding: 'utf8' });
      assert.equal(left.stdout.trim(), '', 'no skopeo process is left');
      assert.deepEqual((await diskState(t.dataDir)).tmp, []);
    } finally {
      silent.close();
    }
  });
});
