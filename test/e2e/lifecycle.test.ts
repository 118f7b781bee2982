// A sandbox's life while shedd runs: loss behind the daemon's back (its init killed, its
// runtime state removed) is noticed and torn down with a reason; TTL and idle timeouts fire,
// through the SDK and the CLI, and survive a restart; `shed system prune` sweeps planted
// orphans without touching a create in flight; the cgroup scope goes with the last sandbox.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { cgroupScope, openDb, readCgroupLayout, type ContainerHandleData } from '@shed/server';
import { Shed, ShedApiError, type Sandbox } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { until } from '../helpers/poll.js';
import { isRunning } from '../helpers/procs.js';
import { CLI, containerHandles, daemonDirs, e2eUnavailable, startShedd, type DaemonDirs, type Shedd } from './shedd.js';

const run = promisify(execFile);
const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e lifecycle tests skipped: ${skip}`);
useLeakCheck();

/** `until` with this file's 8 s bound. */
const waitFor = <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => until(what, fn, 8000);

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);
const mounted = async (under: string): Promise<boolean> => (await readFile('/proc/self/mountinfo', 'utf8')).includes(under);

describe('e2e: sandbox life cycle while shedd runs', { skip }, () => {
  let dirs: DaemonDirs;
  let d: Shedd;
  let shed: Shed;
  const runRoot = (): string => join(dirs.runDir, 'sandboxes');
  const handles = (sb: Sandbox): Promise<ContainerHandleData> => containerHandles(dirs, sb.id);
  const stateOf = async (ref: string): Promise<{ state: string; reason: string } | null> => {
    const list = await shed.sandboxes.list();
    const s = list.find((x) => x.id === ref || x.info.name === ref);
    return s === undefined ? null : { state: s.info.state, reason: s.info.stateReason ?? '' };
  };
  const cli = async (...args: string[]): Promise<string> => (await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...dirs.env } })).stdout;
  const scopeDirs = async (): Promise<string[]> => {
    const found: string[] = [];
    for (const h of (await readCgroupLayout()).hierarchies) {
      const dir = join(h.mountPoint, cgroupScope(runRoot()));
      if (await exists(dir)) found.push(dir);
    }
    return found;
  };

  let base: DaemonDirs;
  /** Restarts shedd with its liveness check every `livenessMs`; no scheduled sweep (prune is asked for). */
  const restart = async (livenessMs: number): Promise<void> => {
    shed?.close();
    await d?.stop();
    dirs = { ...base, env: { ...base.env, SHED_LIVENESS_INTERVAL_MS: String(livenessMs), SHED_SWEEP_INTERVAL_MS: '0' } };
    d = await startShedd(dirs);
    shed = await Shed.connect({ socketPath: d.socketPath });
  };

  before(async () => {
    base = await daemonDirs('shed-e2e-life-');
    // First a periodic check too slow to matter: the link drop alone must notice a death.
    await restart(60_000);
  });

  after(async () => {
    for (const s of (await shed?.sandboxes.list()) ?? []) await s.delete();
    shed?.close();
    await d?.stop();
  });

  it('kill -9 of its init: the dropped agent link is noticed, kernel state released, reason recorded; it starts again', async () => {
    const sb = await shed.sandboxes.create({ name: 'victim' });
    await sb.files.write('/root/kept.txt', 'kept');
    const h = await handles(sb);
    process.kill(h.initPid, 'SIGKILL');
    const s = await waitFor('victim to be stopped', async () => ((await stateOf('victim'))?.state === 'stopped' ? stateOf('victim') : undefined));
    assert.match(s?.reason ?? '', /its init \(host pid \d+\) exited or was killed \(found when its agent link dropped\)/);
    assert.equal(await mounted(join(dirs.dataDir, 'sandboxes', sb.id)), false, 'its overlay is unmounted');
    for (const dir of h.cgroupDirs) assert.equal(await exists(dir), false, `its cgroup ${dir} is removed`);
    assert.equal(await exists(join(h.runtimeRoot, h.containerId)), false, 'its runtime state is deleted');
    assert.match(await cli('inspect', 'victim'), /state: +stopped \(its processes were gone/);
    const again = await shed.sandboxes.get('victim');
    await again.start();
    assert.equal(await again.files.readText('/root/kept.txt'), 'kept', 'its writable layer survived');
    await again.delete();
  });

  it('its runtime state removed: the periodic check tears it down by its cgroups and says why', async () => {
    await restart(200);
    const sb = await shed.sandboxes.create({ name: 'stateless' });
    const h = await handles(sb);
    await rm(join(h.runtimeRoot, h.containerId), { recursive: true, force: true });
    const s = await waitFor('stateless to be stopped', async () => ((await stateOf('stateless'))?.state === 'stopped' ? stateOf('stateless') : undefined));
    assert.match(s?.reason ?? '', /runtime state was removed \(found by the periodic liveness check\)/);
    assert.equal(await isRunning(h.initPid), false, 'its processes were killed');
    await sb.delete();
  });

  it('a TTL through the SDK: deleted by default, stopped with --on-expire stop, logged with why', async () => {
    const gone = await shed.sandboxes.create({ ttlSeconds: 1 });
    const kept = await shed.sandboxes.create({ ttlSeconds: 1, onExpire: 'stop' });
    assert.equal(gone.info.ttlSeconds, 1);
    assert.ok(gone.info.expiresAt !== null && Date.parse(gone.info.expiresAt) - Date.parse(gone.info.createdAt) === 1000);
    await waitFor('the TTL to delete', async () => ((await stateOf(gone.id)) === null ? true : undefined));
    const s = await waitFor('the TTL to stop', async () => ((await stateOf(kept.id))?.state === 'stopped' ? stateOf(kept.id) : undefined));
    assert.equal(s?.reason, 'expired: its TTL of 1s ended');
    assert.match(await readFile(d.logPath, 'utf8'), new RegExp(`"sandbox":"${gone.id}".*"expiry":"ttl","action":"delete"`));
    await kept.delete();
  });

  it('an idle timeout through the CLI: shown by ls, held off by activity and running processes, then stops', async () => {
    const id = (await cli('create', 'default', '--name', 'idler', '--idle-timeout', '3s')).trim();
    // Activity starts the moment the CLI create returns: an exec every 300 ms (through the
    // SDK: a CLI start can take seconds on a loaded host) keeps the 3 s timeout away for
    // 4.5 s, while the busy one is made and the CLI lists the idler.
    const idler = await shed.sandboxes.get(id);
    const active = (async () => {
      for (let i = 0; i < 15; i++) {
        await idler.exec(['true']);
        await sleep(300);
      }
    })();
    // The busy one gets its background process through the SDK right after create, before
    // any slow CLI call, so its 2 s can only pass while the process runs.
    const b = await shed.sandboxes.create({ image: 'default', name: 'busy', idleTimeoutSeconds: 2 });
    const busy = b.id;
    try {
      await b.exec(['sh', '-c', 'sleep 1000 >/dev/null 2>&1 &']);
      // The CLI lists meanwhile; the state is checked as the activity ends, whenever the CLI is done.
      const listed = cli('ls');
      await active;
      assert.equal((await stateOf(id))?.state, 'running', 'activity holds the idle timeout off');
      assert.match(await listed, /idler .* idle 3s \(stop\)/);
      const s = await waitFor('idler to stop', async () => ((await stateOf(id))?.state === 'stopped' ? stateOf(id) : undefined));
      assert.match(s?.reason ?? '', /^expired: idle for 3s/);
      assert.match(await cli('inspect', 'idler'), /state: +stopped \(expired: idle for 3s/);
      assert.equal((await stateOf(busy))?.state, 'running', 'a sandbox running a process is not idle');
    } finally {
      await cli('rm', 'idler', 'busy');
    }
  });

  it('deadlines survive a restart: a TTL that passed while shedd was down fires when it comes back', async () => {
    const sb = await shed.sandboxes.create({ ttlSeconds: 2 });
    shed.close();
    await d.kill9();
    await sleep(2100);
    d = await startShedd(dirs);
    shed = await Shed.connect({ socketPath: d.socketPath });
    await waitFor('the TTL to delete after the restart', async () => ((await stateOf(sb.id)) === null ? true : undefined));
  });

  it('at restart, the same check: runtime state removed while shedd was down is torn down with why', async () => {
    const sb = await shed.sandboxes.create({ name: 'gutted' });
    const h = await handles(sb);
    shed.close();
    await d.kill9();
    await rm(join(h.runtimeRoot, h.containerId), { recursive: true, force: true });
    d = await startShedd(dirs);
    shed = await Shed.connect({ socketPath: d.socketPath });
    const s = await stateOf('gutted');
    assert.equal(s?.state, 'stopped');
    assert.match(s?.reason ?? '', /runtime state was removed \(found when shedd started\)/);
    assert.equal(await isRunning(h.initPid), false, 'its processes were killed through its cgroups');
    await sb.delete();
  });

  it('bad expiry input gets a clear error: CLI usage, and the API refuses onExpire alone', async () => {
    await assert.rejects(cli('create', 'default', '--ttl', '10x'), (e: unknown) => /--ttl '10x' is not a duration/.test(String((e as { stderr?: string }).stderr))); // execFile's error carries stderr
    await assert.rejects(shed.sandboxes.create({ onExpire: 'stop' }), (e: unknown) => e instanceof ShedApiError && e.code === 'invalid_argument' && /onExpire needs/.test(e.message));
    await assert.rejects(shed.sandboxes.create({ ttlSeconds: 0 }), (e: unknown) => e instanceof ShedApiError && e.code === 'invalid_argument');
  });

  it('shed system prune sweeps planted orphans and reports each, leaving creates in flight alone', async () => {
    const stateRoot = join(dirs.dataDir, 'sandboxes');
    // A sandbox dir with no row, and a leftover overlay mount under another.
    const lonely = join(stateRoot, 'sb-0000000000a1');
    await mkdir(lonely, { recursive: true });
    await writeFile(join(lonely, 'junk'), 'x');
    const ov = join(stateRoot, 'sb-0000000000a2');
    for (const sub of ['lower', 'upper', 'work', 'rootfs']) await mkdir(join(ov, sub), { recursive: true });
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${ov}/lower,upperdir=${ov}/upper,workdir=${ov}/work`, join(ov, 'rootfs')]);
    // A cgroup in the daemon's scope named for no sandbox.
    const layout = await readCgroupLayout();
    const memory = layout.hierarchies.find((x) => x.controllers.includes('memory')) ?? layout.hierarchies[0];
    assert.ok(memory !== undefined);
    const strayCgroup = join(memory.mountPoint, cgroupScope(runRoot()), 'shed-sb-0000000000a3');
    await mkdir(strayCgroup, { recursive: true });
    // A real sandbox whose row vanished: live runtime container, cgroups, mount and dirs.
    const orphan = await shed.sandboxes.create({ name: 'orphan' });
    const oh = await handles(orphan);
    const db = openDb({ path: join(dirs.dataDir, 'shed.db') });
    db.prepare('DELETE FROM sandboxes WHERE id = ?').run(orphan.id);
    db.close();
    // Creates racing the sweep.
    const [creates, out] = await Promise.all([
      Promise.all([0, 1, 2].map(() => shed.sandboxes.create())),
      cli('system', 'prune'),
    ]);
    assert.match(out, /removed directory .*sb-0000000000a1/);
    assert.match(out, /removed mount .*sb-0000000000a2\/rootfs/);
    assert.match(out, /removed cgroup .*shed-sb-0000000000a3/);
    assert.match(out, new RegExp(`removed runtime container \\w+:shed-${orphan.id}`));
    assert.equal(await isRunning(oh.initPid), false, "the orphan's processes were killed");
    for (const p of [lonely, ov, strayCgroup]) assert.equal(await exists(p), false, `${p} is gone`);
    for (const c of creates) {
      assert.ok(!out.includes(c.id), `the create in flight ${c.id} was not swept`);
      assert.equal((await c.exec(['echo', 'ok'])).stdout, 'ok\n');
      await c.delete();
    }
    // The CLI prints the API's PruneSystemResponse, which shedd validated against its schema.
    const json = JSON.parse(await cli('--json', 'system', 'prune', '--images')) as { swept: unknown[]; images: { freedBytes: number } | null };
    assert.deepEqual(json.swept, [], 'nothing left to sweep');
    assert.equal(typeof json.images?.freedBytes, 'number');
  });

  it('the daemon cgroup scope goes with its last sandbox', async () => {
    const sb = await shed.sandboxes.create();
    assert.ok((await scopeDirs()).length > 0, 'a running sandbox lives in the scope');
    await sb.delete();
    assert.deepEqual(await scopeDirs(), [], 'no empty scope dir is left behind');
  });
});
