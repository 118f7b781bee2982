// The container driver: cold create → agent ready, next to the runtime alone (`run --detach`
// of `true` with the very config the driver generated, on an overlay of the same rootfs), per
// runtime installed. Also stop and destroy. Each create is checked with an exec.
import { spawn } from 'node:child_process';
import { access, chmod, mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerDriver, PhaseTimer, newSandboxId, parseContainerHandles, sweepOrphans, type DriverCreateSpec } from '@shed/server';
import { AGENT_PATH, fixtureRootfs, HOST_ID, ID_RANGE } from '../../test/conformance/env.js';
import { stats, type Row } from '../report.js';
import { check, type Suite, type SuiteOptions } from '../suite.js';

const SUITE = 'container';
// The previous sandbox's teardown finishes asynchronously in the kernel (memory cgroup
// offlining, namespace release); a short pause keeps it from landing inside the next sample.
const SETTLE_MS = 50;

const run = (file: string, args: readonly string[]): Promise<number | null> =>
  new Promise((resolve, reject) => {
    const c = spawn(file, args, { stdio: 'ignore' });
    c.once('error', reject);
    c.once('close', resolve);
  });

function specFor(dir: string, rootfs: string): DriverCreateSpec {
  const id = newSandboxId();
  return {
    id, lowerDirs: [rootfs], hostname: id, network: 'none',
    resources: { memoryMiB: 256, cpuMillis: 1000, pidsMax: 256 },
    idMap: { hostId: HOST_ID, size: ID_RANGE },
    stateDir: join(dir, 'state', id), runDir: join(dir, 'run', id),
  };
}

interface Measured {
  create: number[];
  stop: number[];
  destroy: number[];
  phases: Record<string, number[]>;
  /** A config.json the driver generated, for the runtime-alone baseline. */
  config: string;
}

async function measureDriver(runtime: 'crun' | 'runc', dir: string, rootfs: string, n: number): Promise<Measured> {
  const driver = new ContainerDriver({ runtime, agentPath: AGENT_PATH });
  const m: Measured = { create: [], stop: [], destroy: [], phases: {}, config: '' };
  for (let i = -3; i < n; i++) {
    const spec = specFor(dir, rootfs);
    const timer = new PhaseTimer();
    const t0 = performance.now();
    const sb = await driver.create(spec, { timer });
    const createMs = performance.now() - t0;
    check((await sb.agent.run(['echo', 'ready'])).stdout.toString() === 'ready\n', 'the new sandbox runs a command');
    if (m.config === '') m.config = await readFile(join(spec.runDir, 'config.json'), 'utf8');
    const t1 = performance.now();
    await driver.stop(sb.handles, { graceMs: 0 });
    const stopMs = performance.now() - t1;
    const t2 = performance.now();
    await driver.destroy({ ...sb.handles, data: { stateDir: spec.stateDir, runDir: spec.runDir } });
    const destroyMs = performance.now() - t2;
    if (i >= 0) {
      m.create.push(createMs);
      m.stop.push(stopMs);
      m.destroy.push(destroyMs);
      for (const [k, v] of Object.entries(timer.finish())) (m.phases[k] ??= []).push(v);
    }
    check(parseContainerHandles(sb.handles).data.runtime === runtime, `created with ${runtime}`);
    await sleep(SETTLE_MS);
  }
  return m;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The driver's config with the baseline's paths and `true` as the program; only those change. */
function retarget(config: unknown, b: string): unknown {
  const [root, proc, linux, mounts] = isObj(config) ? [config.root, config.process, config.linux, config.mounts] : [];
  check(isObj(root) && isObj(proc) && isObj(linux) && Array.isArray(mounts), 'the driver wrote an OCI config');
  if (!isObj(root) || !isObj(proc) || !isObj(linux) || !Array.isArray(mounts)) return config;
  root.path = join(b, 'rootfs');
  proc.args = ['/bin/true'];
  linux.cgroupsPath = `/shed/bench-${process.pid}/shed-alone`;
  for (const mnt of mounts) if (isObj(mnt) && mnt.destination === '/dev/.shed/run') mnt.source = join(b, 'sock');
  return config;
}

/** `runtime run --detach` of `true` with the driver's config, on a pre-mounted overlay of the same rootfs. */
async function measureRuntimeAlone(runtime: 'crun' | 'runc', dir: string, rootfs: string, config: string, n: number): Promise<number[]> {
  const b = join(dir, `alone-${runtime}`);
  await Promise.all(['upper', 'work', 'rootfs', 'sock', 'state'].map((d) => mkdir(join(b, d), { recursive: true })));
  await run('chown', [`${HOST_ID}:${HOST_ID}`, join(b, 'upper')]);
  check((await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${rootfs},upperdir=${b}/upper,workdir=${b}/work`, `${b}/rootfs`])) === 0, 'overlay mounts');
  try {
    await writeFile(join(b, 'config.json'), JSON.stringify(retarget(JSON.parse(config), b)));
    const args = (cmd: string[]): string[] => ['--root', join(b, 'state'), ...cmd];
    const samples: number[] = [];
    for (let i = -3; i < n; i++) {
      const t0 = performance.now();
      const rc = await run(runtime, args(['run', '--detach', '--bundle', b, 'alone']));
      const ms = performance.now() - t0;
      check(rc === 0, `${runtime} run of true succeeds`);
      await run(runtime, args(['delete', '--force', 'alone']));
      if (i >= 0) samples.push(ms);
      await sleep(SETTLE_MS);
    }
    return samples;
  } finally {
    await run('umount', [join(b, 'rootfs')]);
    for (const h of ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'hugetlb', 'systemd', 'unified']) {
      await rmdir(`/sys/fs/cgroup/${h}/shed/bench-${process.pid}`).catch(() => undefined);
    }
  }
}

async function installed(runtime: string): Promise<boolean> {
  return (await Promise.all(['/usr/bin', '/usr/sbin'].map((d) => access(join(d, runtime)).then(() => true, () => false)))).some(Boolean);
}

export const containerSuite: Suite = {
  name: SUITE,
  description: 'container driver: cold create → agent ready (crun, runc), vs the runtime alone',
  async run(opts: SuiteOptions): Promise<Row[]> {
    const n = Math.max(5, Math.round(40 * opts.scale));
    const rootfs = await fixtureRootfs();
    const dir = await mkdtemp(join(tmpdir(), 'shed-bench-'));
    await chmod(dir, 0o711);
    const rows: Row[] = [];
    try {
      for (const runtime of ['crun', 'runc'] as const) {
        if (!(await installed(runtime))) {
          console.error(`bench: ${SUITE}: ${runtime} is not installed; skipping its rows`);
          continue;
        }
        const m = await measureDriver(runtime, dir, rootfs, n);
        const alone = await measureRuntimeAlone(runtime, dir, rootfs, m.config, n);
        rows.push({
          suite: SUITE, name: `cold create → agent ready (${runtime})`, unit: 'ms', higherIsBetter: false,
          ...(runtime === 'crun' ? { budgetP50: 25 } : {}),
          stats: stats(m.create), baseline: { name: `${runtime} run --detach of true, same config, spawned from Node (runtime alone)`, stats: stats(alone) },
        });
        for (const phase of ['driver.overlay', 'driver.runtime', 'driver.ready']) {
          const v = m.phases[phase];
          if (v !== undefined) rows.push({ suite: SUITE, name: `  phase ${phase} (${runtime})`, unit: 'ms', higherIsBetter: false, stats: stats(v) });
        }
        rows.push({ suite: SUITE, name: `stop, grace 0 (${runtime})`, unit: 'ms', higherIsBetter: false, stats: stats(m.stop) });
        rows.push({ suite: SUITE, name: `destroy after stop (${runtime})`, unit: 'ms', higherIsBetter: false, stats: stats(m.destroy) });
      }
    } finally {
      // As a daemon does at start: removes anything left and this run's (empty) cgroup scope.
      await sweepOrphans({ runRoot: join(dir, 'run'), stateRoot: join(dir, 'state'), knownIds: new Set() });
      await rm(dir, { recursive: true, force: true });
    }
    return rows;
  },
};
