// Container-driver specifics beyond the conformance suite: cgroup limits really applied (read
// back from the cgroup files), a clean writable layer after create, the probe's report and the
// hybrid-cgroup fix, strict handles, bad specs, and the orphan sweep.
import assert from 'node:assert/strict';
import { access, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ContainerDriver, ShedError, newSandboxId, parseContainerHandles, readCgroupLayout, sweepOrphans, type RunningSandbox,
} from '@shed/server';
import { containerTarget, type RuntimeUnderTest } from '../conformance/container-target.js';
import { AGENT_PATH, sandboxEnv, type SandboxEnv } from '../conformance/env.js';
import { assertNoLeaks, cleanupTempDirs, findLeaks } from '../helpers/leaks.js';

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);
const read = async (dir: string, file: string): Promise<string> => (await readFile(join(dir, file), 'utf8')).trim();

function containerSuite(runtime: RuntimeUnderTest): void {
  describe(`container driver (${runtime})`, () => {
    let env: SandboxEnv;
    let driver: ContainerDriver;
    let skip: string | undefined;
    const live = new Set<RunningSandbox>();

    before(async () => {
      const target = await containerTarget(runtime);
      if (typeof target === 'string') return void (skip = target);
      env = await sandboxEnv(`shed-drv-${runtime}-`);
      driver = new ContainerDriver({ runtime, agentPath: AGENT_PATH });
    });
    after(async () => {
      for (const sb of live) await driver.destroy(sb.handles);
      await cleanupTempDirs();
      await assertNoLeaks();
    });
    const it = (title: string, fn: () => Promise<void>): void =>
      void test(title, async (ctx) => (skip !== undefined ? ctx.skip(skip) : fn()));
    const create = async (spec = env.spec()): Promise<RunningSandbox> => {
      const sb = await driver.create(spec);
      live.add(sb);
      return sb;
    };
    const destroy = async (sb: RunningSandbox): Promise<void> => {
      await driver.destroy(sb.handles);
      live.delete(sb);
    };

    it('probe reports the runtime and the cgroup mode', async () => {
      const probe = await driver.probe();
      assert.equal(probe.usable, true, probe.problems.join('; '));
      assert.ok(probe.notes.some((n) => n.startsWith(`runtime: ${runtime} (`)), probe.notes.join('\n'));
      assert.ok(probe.notes.some((n) => /^cgroups: (v1|v2|hybrid)$/.test(n)));
    });

    it('applies memory, swap, cpu and pids limits in every cgroup hierarchy', async () => {
      const sb = await create(env.spec({ resources: { memoryMiB: 96, cpuMillis: 500, pidsMax: 77 } }));
      const dirs = parseContainerHandles(sb.handles).data.cgroupDirs;
      const layout = await readCgroupLayout();
      const dirOf = (ctrl: string): string | undefined =>
        dirs.find((d) => layout.hierarchies.some((h) => h.controllers.includes(ctrl) && d.startsWith(`${h.mountPoint}/`)));
      const mem = dirOf('memory');
      const cpu = dirOf('cpu');
      const pids = dirOf('pids');
      if (layout.mode === 'v2') {
        const d = dirs[0] ?? '';
        assert.equal(await read(d, 'memory.max'), String(96 << 20));
        assert.equal(await read(d, 'memory.swap.max'), '0');
        assert.equal(await read(d, 'cpu.max'), '50000 100000');
        assert.equal(await read(d, 'pids.max'), '77');
      } else {
        assert.ok(mem !== undefined && cpu !== undefined && pids !== undefined, `cgroups found: ${dirs.join(', ')}`);
        assert.equal(await read(mem, 'memory.limit_in_bytes'), String(96 << 20));
        assert.equal(await read(mem, 'memory.memsw.limit_in_bytes'), String(96 << 20));
        assert.equal(await read(cpu, 'cpu.cfs_quota_us'), '50000');
        assert.equal(await read(cpu, 'cpu.cfs_period_us'), '100000');
        assert.equal(await read(pids, 'pids.max'), '77');
      }
      // The sandbox sees its own cgroup as the root of its cgroup namespace.
      const r = await sb.agent.run(['cat', '/proc/self/cgroup']);
      assert.doesNotMatch(r.stdout.toString(), /shed/, 'cgroup paths of the host are hidden');
      await destroy(sb);
    });

    it('leaves the writable layer empty after create (no mount points in it)', async () => {
      const spec = env.spec();
      const sb = await create(spec);
      assert.deepEqual(await readdir(join(spec.stateDir, 'upper')), []);
      const r = await sb.agent.run(['ls', '/dev/.shed']);
      assert.equal(r.stdout.toString(), 'agent\nrun\n', 'the agent and its socket dir live on /dev');
      await destroy(sb);
    });

    it('records complete handles that name a live init', async () => {
      const sb = await create();
      const d = parseContainerHandles(JSON.parse(JSON.stringify(sb.handles))).data;
      assert.equal(d.runtime, runtime);
      assert.equal(d.containerId, `shed-${sb.handles.id}`);
      const stat = await readFile(`/proc/${d.initPid}/stat`, 'utf8');
      assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]), d.initStartTime);
      assert.ok(d.cgroupDirs.length > 0 && d.mounts.length === 1);
      await destroy(sb);
    });

    it('rejects handles with unknown fields and specs with bad values, leaving nothing', async () => {
      const sb = await create();
      const tampered = { ...sb.handles, data: { ...sb.handles.data, extra: true } };
      await assert.rejects(driver.destroy(tampered), (e: unknown) => e instanceof ShedError && e.code === 'invalid_argument');
      await destroy(sb);
      const bad = [
        env.spec({ resources: { memoryMiB: 1 } }),
        { ...env.spec(), hostname: 'bad host!' },
        { ...env.spec(), lowerDirs: ['relative/dir'] },
        { ...env.spec(), lowerDirs: ['/a:b'] },
      ];
      for (const spec of bad) {
        await assert.rejects(driver.create(spec), (e: unknown) => e instanceof ShedError && e.code === 'invalid_argument');
        assert.equal(await exists(spec.runDir), false);
      }
      assert.deepEqual((await findLeaks()).filter((l) => l.kind !== 'temp dir'), []);
    });

    it('a missing lower layer fails create with the tool error and leaves nothing', async () => {
      const spec = env.spec({ lowerDirs: [join(env.dir, 'no-such-image')] });
      await assert.rejects(driver.create(spec), /mount/);
      assert.equal(await exists(spec.stateDir), false);
      assert.deepEqual((await findLeaks()).filter((l) => l.kind !== 'temp dir'), []);
    });

    it('the orphan sweep removes what no known sandbox owns and keeps the rest', async () => {
      const keep = await create();
      const orphanSpec = env.spec();
      const orphan = await create(orphanSpec);
      // The daemon died: its links are gone, only the kernel state remains.
      await driver.release(orphan.handles);
      live.delete(orphan);
      const report = await sweepOrphans({ runRoot: env.runRoot, stateRoot: env.stateRoot, knownIds: new Set([keep.handles.id]) });
      assert.deepEqual(report.containers, [`${runtime}:shed-${orphan.handles.id}`]);
      // Deleting the runtime container removes its cgroups; the sweep removes any it left.
      assert.ok(report.cgroups.every((c) => c.endsWith(`shed-${orphan.handles.id}`)), report.cgroups.join(', '));
      assert.deepEqual(report.mounts, [join(orphanSpec.stateDir, 'rootfs')]);
      assert.deepEqual(report.dirs.sort(), [orphanSpec.runDir, orphanSpec.stateDir].sort());
      assert.equal(await driver.isAlive(orphan.handles), false);
      assert.equal(await driver.isAlive(keep.handles), true, 'the known sandbox is untouched');
      assert.equal((await keep.agent.run(['echo', 'still'])).stdout.toString(), 'still\n');
      const ids = [keep.handles.id];
      assert.deepEqual((await findLeaks()).filter((l) => l.kind !== 'temp dir' && !ids.some((id) => l.what.includes(id))), []);
      await destroy(keep);
      const empty = await sweepOrphans({ runRoot: env.runRoot, stateRoot: env.stateRoot, knownIds: new Set() });
      assert.deepEqual(empty, { containers: [], cgroups: [], mounts: [], dirs: [] });
    });

    it('the sweep kills an orphan whose runtime state is lost, through its cgroup', async () => {
      const spec = env.spec();
      const sb = await create(spec);
      const d = parseContainerHandles(sb.handles).data;
      await driver.release(sb.handles);
      live.delete(sb);
      await rm(join(d.runtimeRoot, d.containerId), { recursive: true });
      const report = await sweepOrphans({ runRoot: env.runRoot, stateRoot: env.stateRoot, knownIds: new Set() });
      assert.deepEqual(report.containers, []);
      assert.ok(report.cgroups.length > 0, 'found by its cgroups');
      assert.equal(await driver.isAlive(sb.handles), false);
      assert.deepEqual((await findLeaks()).filter((l) => l.kind !== 'temp dir'), []);
    });

    it('a sandbox id never seen by the sweep is left alone when known', async () => {
      const id = newSandboxId();
      const report = await sweepOrphans({ runRoot: env.runRoot, stateRoot: env.stateRoot, knownIds: new Set([id]) });
      assert.deepEqual(report, { containers: [], cgroups: [], mounts: [], dirs: [] });
    });
  });
}

describe('hybrid cgroups', () => {
  test('crun works here: the hugetlb hierarchy is moved to v1 when cgroup2 holds it', async (ctx) => {
    const target = await containerTarget('crun');
    if (typeof target === 'string') return ctx.skip(target);
    const layout = await readCgroupLayout();
    if (layout.mode !== 'hybrid') return ctx.skip(`cgroups are ${layout.mode} here: the quirk is a hybrid-mode one`);
    const held = (await readFile('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8')).trim();
    const probe = await new ContainerDriver({ runtime: 'crun', agentPath: AGENT_PATH }).probe();
    assert.equal(probe.usable, true, probe.notes.join('\n'));
    if (held !== '') {
      assert.ok(probe.notes.some((n) => /mounted v1 hierarchies/.test(n)), probe.notes.join('\n'));
    } else {
      // Already fixed on this host (by an earlier probe or by hand): nothing to move.
      ctx.diagnostic('cgroup2 holds no controller here; the fix had nothing to do');
    }
    assert.equal((await readFile('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8')).trim(), '');
    // The probe also leaves cgroup2 with favordynmods (set now, or found set).
    assert.match(await readFile('/proc/self/mountinfo', 'utf8'), / \/sys\/fs\/cgroup\/unified .* cgroup2 cgroup2 \S*favordynmods/);
    const disabled = await new ContainerDriver({ runtime: 'crun', agentPath: AGENT_PATH, fixHybridCgroups: false }).probe();
    assert.equal(disabled.usable, true, 'with nothing held, crun needs no fix');
  });
});

containerSuite('crun');
containerSuite('runc');
