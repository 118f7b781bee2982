// The container driver behind the real daemon (core, store, API) and the SDK: create, exec,
// stop/start, a daemon restart that adopts the running sandbox, and the orphan sweep at start.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Shed } from '@shed/sdk';
import {
  ContainerDriver, ShedError, newSandboxId, openDb, serve, sqlitePersistence,
  type Db, type ImageDigest, type ImageService, type ResolvedImage, type Running,
} from '@shed/server';
import { containerTarget } from '../conformance/container-target.js';
import { AGENT_PATH, fixtureRootfs, HOST_ID, ID_RANGE } from '../conformance/env.js';
import { assertNoLeaks, cleanupTempDirs, leakCheckedTempDir, trackRunRoot } from '../helpers/leaks.js';

const DIGEST = `sha256:${'b'.repeat(64)}` as ImageDigest; // Brand cast: a well-formed digest literal.

/** An image store that knows one image, the busybox fixture rootfs, as 'default'. */
function fixtureImages(db: Db, rootfs: string): ImageService {
  db.prepare(`INSERT OR IGNORE INTO images (digest, config, source, disk_bytes, created_at, last_used_at)
    VALUES (?, '{}', 'builtin', 0, 0, 0)`).run(DIGEST);
  const image: ResolvedImage = {
    rootfs,
    info: {
      digest: DIGEST, names: ['default'], sizeBytes: 0, source: 'builtin', createdAt: 0, lastUsedAt: 0,
      config: { env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], workingDir: '/' },
    },
  };
  return {
    resolve: async (ref: string) => {
      if (ref !== 'default' && ref !== DIGEST) throw new ShedError('not_found', `image '${ref}' does not exist`);
      return image;
    },
    list: async () => [image.info],
  } as ImageService; // Only resolve and list are used by the sandbox service.
}

const skip = await containerTarget('crun').then((t) => (typeof t === 'string' ? t : undefined));

describe('the daemon with the container driver', { skip }, () => {
  let dir = '';
  let db: Db;
  let images: ImageService;
  let running: Running | undefined;
  let shed: Shed | undefined;

  const start = async (): Promise<Shed> => {
    running = await serve(
      { driver: new ContainerDriver({ agentPath: AGENT_PATH }), images, store: sqlitePersistence(db), idMap: { hostId: HOST_ID, size: ID_RANGE } },
      { dataDir: join(dir, 'data'), runDir: join(dir, 'run'), socketPath: join(dir, 'run', 'shed.sock'), log: false },
    );
    shed = await Shed.connect({ socketPath: join(dir, 'run', 'shed.sock') });
    return shed;
  };
  const stop = async (): Promise<void> => {
    shed?.close();
    await running?.close();
  };

  before(async () => {
    dir = await leakCheckedTempDir('shed-daemon-');
    trackRunRoot(join(dir, 'run', 'sandboxes'));
    db = openDb({ path: join(dir, 'shed.db') });
    images = fixtureImages(db, await fixtureRootfs());
  });
  after(async () => {
    if (shed !== undefined) await shed.sandboxes.list().then((all) => Promise.all(all.map((s) => s.delete())));
    await stop();
    db.close();
    await cleanupTempDirs();
    await assertNoLeaks();
  });

  it('creates, runs commands, stops and starts keeping files', async () => {
    const s = await start();
    const sb = await s.sandboxes.create({ image: 'default', name: 'c1', memoryMiB: 128 });
    assert.equal(sb.info.state, 'running');
    const r = await sb.exec(['sh', '-c', 'hostname; id -u; echo kept > /kept']);
    assert.equal(r.stdout, 'c1\n0\n');
    await sb.stop();
    await sb.start();
    assert.equal((await sb.exec(['cat', '/kept'])).stdout, 'kept\n');
  });

  it('a restarted daemon adopts the running sandbox and sweeps orphans', async () => {
    const s = shed ?? (await start());
    const sb = await s.sandboxes.get('c1');
    const sleeper = await sb.exec(['sh', '-c', 'sleep 300 >/dev/null 2>&1 & echo $!']);
    const pid = sleeper.stdout.trim();
    // An orphan: a sandbox of this daemon's roots that has no row.
    const orphanId = newSandboxId();
    const driver = new ContainerDriver({ agentPath: AGENT_PATH });
    const orphan = await driver.create({
      id: orphanId, lowerDirs: [await fixtureRootfs()], hostname: 'orphan', network: 'none',
      resources: { memoryMiB: 64, cpuMillis: 500, pidsMax: 32 }, idMap: { hostId: HOST_ID, size: ID_RANGE },
      stateDir: join(dir, 'data', 'sandboxes', orphanId), runDir: join(dir, 'run', 'sandboxes', orphanId),
    });
    await driver.release(orphan.handles);
    await stop();
    const again = await start();
    const adopted = await again.sandboxes.get('c1');
    assert.equal(adopted.info.state, 'running');
    assert.equal((await adopted.exec(['sh', '-c', `kill -0 ${pid} && echo alive`])).stdout, 'alive\n', 'the workload survived the restart');
    assert.equal(await driver.isAlive(orphan.handles), false, 'the orphan was swept at start');
    await adopted.delete();
  });
});
