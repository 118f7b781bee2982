// Sandboxes end to end against a real shedd (container driver, `default` image, no
// network): cold create → exec-ready, warm pool claim → exec-ready (suites/warm.ts), exec round trips through the SDK, `shed run --rm`
// through the CLI, next to the OCI runtime alone and podman. Every sample checks its output.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Shed, type Sandbox } from '@shed/sdk';
import { cleanupTempDirs } from '../../test/helpers/leaks.js';
import { CLI, daemonDirs, startShedd, type Shedd } from '../../test/e2e/shedd.js';
import { hostRun } from '../host.js';
import { findPodman, podmanRunTrue, runtimeAlone, type RuntimeAlone } from '../peers.js';
import { stats, type Row, type Stats } from '../report.js';
import { check, sampleMs, timeMs, type Suite, type SuiteOptions } from '../suite.js';
import { warmClaimRows } from './warm.js';

const SUITE = 'sandbox';
const SETTLE_MS = 50;
/** Create phases worth a row of their own: where the time of a create goes. */
const PHASES = ['image', 'dirs', 'driver.overlay', 'driver.listen', 'driver.config', 'driver.runtime', 'driver.ready', 'driver.handles', 'handles'];

interface Ctx {
  readonly d: Shedd;
  readonly shed: Shed;
  readonly opts: SuiteOptions;
  readonly n: (base: number) => number;
}

/** create() until it resolves (the agent's READY is in), then a checked exec and a delete, untimed. */
async function coldCreate(c: Ctx, alone: Stats): Promise<Row[]> {
  const phases = new Map<string, number[]>();
  const samples: number[] = [];
  const once = async (i: number): Promise<void> => {
    let sb: Sandbox | undefined;
    samples.push(await timeMs(async () => {
      sb = await c.shed.sandboxes.create({ image: 'default' });
    }));
    if (sb === undefined) throw new Error('create returned nothing');
    check((await sb.exec(['echo', String(i)])).stdout === `${i}\n`, 'the new sandbox runs a command');
    for (const [k, v] of Object.entries(sb.info.timings.create ?? {})) phases.set(k, [...(phases.get(k) ?? []), v]);
    await sb.delete();
    // The kernel finishes a teardown asynchronously (cgroup offlining, namespace release): let
    // it land before the next sample, as the container suite does.
    await sleep(SETTLE_MS);
  };
  for (let i = 0; i < 3; i++) await once(i);
  phases.clear();
  samples.length = 0;
  for (let i = 0; i < c.n(60); i++) await once(i);
  const rows: Row[] = [{
    suite: SUITE, name: 'cold create → exec-ready (SDK)', unit: 'ms', higherIsBetter: false, budgetP50: 25,
    stats: stats(samples), baseline: { name: 'OCI runtime alone: run `true`', stats: alone },
  }];
  for (const p of [...PHASES, 'total']) {
    const v = phases.get(p);
    if (v !== undefined) rows.push({ suite: SUITE, name: `  create phase ${p}`, unit: 'ms', higherIsBetter: false, stats: stats(v) });
  }
  const p50 = rows[0]?.stats.p50 ?? 0;
  if (p50 > 25) {
    const runtime = stats(phases.get('driver.runtime') ?? []).p50;
    const total = stats(phases.get('total') ?? []).p50;
    c.opts.note(`cold create p50 ${p50.toFixed(1)} ms is over its 25 ms budget: the OCI runtime's run takes ${runtime.toFixed(1)} ms of it `
      + `(running \`true\` with the runtime alone takes ${alone.p50.toFixed(1)} ms), shedd's own phases ${(total - runtime).toFixed(1)} ms, `
      + `and the HTTP round trip and row writes ${(p50 - total).toFixed(1)} ms`);
  }
  return rows;
}

async function execTrue(c: Ctx, sb: Sandbox): Promise<Row> {
  const once = async (): Promise<void> => {
    const r = await sb.exec(['true']);
    check(r.exitCode === 0 && r.stdout === '' && r.stderr === '', 'true exits 0 silently');
  };
  await sampleMs(c.n(100), once);
  const samples = await sampleMs(c.n(1000), once);
  const host = async (): Promise<void> => check((await hostRun(['/bin/true'])).exitCode === 0, 'host true exits 0');
  await sampleMs(c.n(100), host);
  return {
    suite: SUITE, name: 'exec `true` round trip (SDK)', unit: 'ms', higherIsBetter: false, budgetP50: 3,
    stats: stats(samples), baseline: { name: "spawn('/bin/true')", stats: stats(await sampleMs(c.n(1000), host)) },
  };
}

function cli(d: Shedd, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...d.env } }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

async function cliRun(c: Ctx, alone: Stats): Promise<Row> {
  const once = async (): Promise<void> => {
    const r = await cli(c.d, ['run', '--rm', 'default', 'true']);
    check(r.code === 0 && r.stdout === '' && r.stderr === '', `shed run --rm default true exits 0 silently (${r.code}: ${r.stderr})`);
  };
  await sampleMs(2, once);
  return {
    suite: SUITE, name: '`shed run --rm default true` (CLI)', unit: 'ms', higherIsBetter: false,
    stats: stats(await sampleMs(c.n(30), once)), baseline: { name: 'OCI runtime alone: run `true`', stats: alone },
  };
}

async function runtimeRow(rt: RuntimeAlone, n: number): Promise<Stats> {
  const once = async (i: number): Promise<void> => check((await rt.runTrue(i)) === 0, `${rt.name} run true exits 0`);
  await sampleMs(3, (i) => once(1_000_000 + i));
  return stats(await sampleMs(n, once));
}

async function podmanRow(c: Ctx, rootfs: string, alone: Stats): Promise<Row[]> {
  const podman = await findPodman();
  if (podman === null) {
    c.opts.note('podman is not installed (apt-get install podman to compare); its row is left out');
    return [];
  }
  const once = async (): Promise<void> => check((await podmanRunTrue(podman, rootfs)) === 0, 'podman run true exits 0');
  await sampleMs(2, once);
  return [{
    suite: SUITE, name: 'podman run --rm (same rootfs) `true`', unit: 'ms', higherIsBetter: false,
    stats: stats(await sampleMs(c.n(20), once)), baseline: { name: 'OCI runtime alone: run `true`', stats: alone },
  }];
}

export const sandboxSuite: Suite = {
  name: SUITE,
  description: 'a real shedd: cold create and exec through the SDK, shed run through the CLI, the OCI runtime alone, podman',
  async run(opts: SuiteOptions): Promise<Row[]> {
    const dirs = await daemonDirs('shed-bench-');
    const d = await startShedd(dirs);
    const shed = await Shed.connect({ socketPath: d.socketPath });
    const c: Ctx = { d, shed, opts, n: (base) => Math.max(5, Math.round(base * opts.scale)) };
    let rt: RuntimeAlone | undefined;
    try {
      const sb = await shed.sandboxes.create({ image: 'default' });
      const rootfs = join(dirs.dataDir, 'images', sb.info.imageDigest.replace(/^sha256:/, ''), 'rootfs');
      rt = await runtimeAlone(join(dirs.runDir, 'sandboxes', sb.id), rootfs, join(dirs.dir, 'runtime-alone'));
      const alone = await runtimeRow(rt, c.n(60));
      const cold = await coldCreate(c, alone);
      const rows = [
        ...cold,
        ...(await warmClaimRows(SUITE, shed, opts, c.n(60), cold[0]?.stats ?? alone)),
        await execTrue(c, sb),
        await cliRun(c, alone),
        { suite: SUITE, name: `${rt.name} run \`true\` alone (same rootfs, read-only)`, unit: 'ms', higherIsBetter: false, stats: alone },
        ...(await podmanRow(c, rootfs, alone)),
      ];
      await sb.delete();
      return rows;
    } finally {
      await rt?.close();
      for (const s of await shed.sandboxes.list()) await s.delete();
      shed.close();
      await d.stop();
      await cleanupTempDirs();
    }
  },
};
