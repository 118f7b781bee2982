// Snapshots as layers (container driver, crun): capturing a running sandbox's upper with
// 100 MiB written (total and frozen time), on the host's filesystem (ext4 here: data copied)
// and, when xfsprogs is installed, on a loop-mounted XFS made with reflink=1 (extents shared);
// and a filesystem fork of a running sandbox: snapshot of a small upper + create on it.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerDriver, newSandboxId, sweepOrphans, type DriverCreateSpec, type RunningSandbox, type UpperSnapshot } from '@shed/server';
import { AGENT_PATH, fixtureRootfs, HOST_ID, ID_RANGE } from '../../test/conformance/env.js';
import { stats, type Row } from '../report.js';
import { check, type Suite, type SuiteOptions } from '../suite.js';

const SUITE = 'snapshot';

const run = (file: string, args: readonly string[]): Promise<number | null> =>
  new Promise((resolve, reject) => {
    const c = spawn(file, args, { stdio: 'ignore' });
    c.once('error', reject);
    c.once('close', resolve);
  });

function specFor(dir: string, lowerDirs: string[]): DriverCreateSpec {
  const id = newSandboxId();
  return {
    id, lowerDirs, hostname: id, network: 'none',
    resources: { memoryMiB: 256, cpuMillis: 1000, pidsMax: 256 },
    idMap: { hostId: HOST_ID, size: ID_RANGE },
    stateDir: join(dir, 'state', id), runDir: join(dir, 'run', id),
  };
}

/** Snapshots a sandbox holding 100 MiB of new data `n` times under `dir`. */
async function measureBig(driver: ContainerDriver, dir: string, rootfs: string, n: number): Promise<UpperSnapshot[]> {
  const sb = await driver.create(specFor(dir, [rootfs]));
  const out: UpperSnapshot[] = [];
  try {
    const w = await sb.agent.run(['sh', '-c', 'dd if=/dev/urandom of=/data bs=1M count=100 2>/dev/null && echo ok']);
    check(w.stdout.toString() === 'ok\n', 'the sandbox wrote 100 MiB');
    for (let i = 0; i < n; i++) {
      const dest = join(dir, 'layers', `big-${i}`);
      const snap = await driver.snapshots.snapshotUpper(sb.handles, dest);
      check(snap.bytes >= 100 << 20, `the layer holds the 100 MiB (${snap.bytes} bytes allocated)`);
      out.push(snap);
      await rm(dest, { recursive: true, force: true });
    }
  } finally {
    await driver.destroy(sb.handles);
  }
  return out;
}

async function measureFork(driver: ContainerDriver, dir: string, rootfs: string, n: number): Promise<number[]> {
  const sb = await driver.create(specFor(dir, [rootfs]));
  const samples: number[] = [];
  try {
    await sb.agent.run(['sh', '-c', 'mkdir /work && echo state > /work/f']);
    for (let i = -2; i < n; i++) {
      const layer = join(dir, 'layers', `fork-${i}`);
      const t0 = performance.now();
      await driver.snapshots.snapshotUpper(sb.handles, layer);
      const fork: RunningSandbox = await driver.create(specFor(dir, [layer, rootfs]));
      const ms = performance.now() - t0;
      check((await fork.agent.run(['cat', '/work/f'])).stdout.toString() === 'state\n', 'the fork sees the state');
      await driver.destroy(fork.handles);
      await rm(layer, { recursive: true, force: true });
      if (i >= 0) samples.push(ms);
    }
  } finally {
    await driver.destroy(sb.handles);
  }
  return samples;
}

function bigRows(snaps: UpperSnapshot[], where: string): Row[] {
  const method = snaps[0]?.method ?? 'copy';
  const total = snaps.map((s) => s.timings.frozen + s.timings.size + (s.timings.sync ?? 0));
  return [
    { suite: SUITE, name: `snapshot, 100 MiB upper, ${where} (${method}): total`, unit: 'ms', higherIsBetter: false, stats: stats(total) },
    { suite: SUITE, name: `  frozen (${method})`, unit: 'ms', higherIsBetter: false, stats: stats(snaps.map((s) => s.timings.frozen)) },
  ];
}

/** A 2 GiB XFS with reflink=1 on a loop device under `dir`, or null (with a note) when it cannot be made. */
async function mountXfs(dir: string, opts: SuiteOptions): Promise<string | null> {
  const img = join(dir, 'xfs.img');
  const mnt = join(dir, 'xfs');
  await mkdir(mnt);
  const ok = (await run('truncate', ['-s', '2G', img])) === 0
    && (await run('mkfs.xfs', ['-q', '-m', 'reflink=1', img]).catch(() => null)) === 0
    && (await run('mount', ['-o', 'loop', img, mnt])) === 0;
  if (!ok) {
    opts.note("no reflink row: mkfs.xfs (Debian's xfsprogs) or a loop device is missing");
    await rmdir(mnt);
    return null;
  }
  await chmod(mnt, 0o711);
  return mnt;
}

export const snapshotSuite: Suite = {
  name: SUITE,
  description: 'snapshot of a running sandbox (100 MiB upper: copy vs reflink) and filesystem fork',
  async run(opts: SuiteOptions): Promise<Row[]> {
    const n = Math.max(3, Math.round(10 * opts.scale));
    const rootfs = await fixtureRootfs();
    const dir = await mkdtemp(join(tmpdir(), 'shed-bench-snap-'));
    await chmod(dir, 0o711);
    const driver = new ContainerDriver({ runtime: 'crun', agentPath: AGENT_PATH });
    const rows: Row[] = [];
    let xfs: string | null = null;
    try {
      rows.push(...bigRows(await measureBig(driver, dir, rootfs, n), 'host filesystem'));
      xfs = await mountXfs(dir, opts);
      if (xfs !== null) rows.push(...bigRows(await measureBig(driver, xfs, rootfs, n), 'XFS reflink=1'));
      rows.push({
        suite: SUITE, name: 'fork of a running sandbox, driver only (snapshot + create, no daemon)', unit: 'ms', higherIsBetter: false, budgetP50: 40,
        stats: stats(await measureFork(driver, dir, rootfs, Math.max(5, Math.round(20 * opts.scale)))),
      });
    } finally {
      for (const d of xfs === null ? [dir] : [xfs, dir]) {
        await sweepOrphans({ runRoot: join(d, 'run'), stateRoot: join(d, 'state'), knownIds: new Set() });
      }
      if (xfs !== null) {
        await run('umount', [xfs]);
      }
      await rm(dir, { recursive: true, force: true });
    }
    return rows;
  },
};
