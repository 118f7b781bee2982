// shedd itself under a crowd of sandboxes (real shedd, container driver, `default` image):
//  - restart: kill -9, then a new shedd re-links N=50 running sandboxes; time from spawning
//    the process to its READY (which it writes after reconciling, so after all are adopted);
//  - exec `true` round trips while 50 spawned processes stream output to 50 readers;
//  - memory: shedd's RSS with 200 idle sandboxes (512 MiB limit each: limits, not usage), and
//    each sandbox's agent RSS.
// Every sample is checked: adopted sandboxes answer exec, streams carry their lines, exec
// `true` exits 0 silently.
import { readFile } from 'node:fs/promises';
import { Shed, type Sandbox, type SandboxProcess } from '@shed/sdk';
import { cleanupTempDirs } from '../../test/helpers/leaks.js';
import { containerHandles, daemonDirs, startShedd, type DaemonDirs, type Shedd } from '../../test/e2e/shedd.js';
import { stats, type Row } from '../report.js';
import { check, sampleMs, timeMs, type Suite, type SuiteOptions } from '../suite.js';

const SUITE = 'daemon';
const RELINKED = 50;
const STREAMS = 50;
const IDLE = 200;
/** Creates and deletes in flight at once while populating: enough to be quick, few enough not to time out on 2 cores. */
const PARALLEL = 8;

interface Ctx {
  readonly dirs: DaemonDirs;
  d: Shedd;
  shed: Shed;
  readonly opts: SuiteOptions;
}

async function inBatches<T, R>(items: readonly T[], fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += PARALLEL) out.push(...(await Promise.all(items.slice(i, i + PARALLEL).map((x, j) => fn(x, i + j)))));
  return out;
}

const createMany = (c: Ctx, n: number, from: number): Promise<Sandbox[]> =>
  inBatches(Array.from({ length: n }, (_, i) => from + i), (i) => c.shed.sandboxes.create({ image: 'default', name: `bench-${i}`, memoryMiB: 512 }));

/** How long the last start's reconciliation took, from its log line. */
async function lastReconcileMs(d: Shedd): Promise<number> {
  const lines = (await readFile(d.logPath, 'utf8')).split('\n').filter((l) => l.includes('"durationMs"') && l.includes('reconciled'));
  const last: unknown = JSON.parse(lines.at(-1) ?? '{}');
  if (typeof last !== 'object' || last === null || !('durationMs' in last) || typeof last.durationMs !== 'number') throw new Error('no reconcile line in the log');
  return last.durationMs;
}

/** kill -9, then time a new shedd from spawn to READY (after it adopted every sandbox). */
async function restarts(c: Ctx, rounds: number): Promise<{ ready: number[]; reconcile: number[] }> {
  const ready: number[] = [];
  const reconcile: number[] = [];
  for (let r = 0; r < rounds; r++) {
    c.shed.close();
    await c.d.kill9();
    ready.push(await timeMs(async () => {
      c.d = await startShedd(c.dirs);
    }));
    reconcile.push(await lastReconcileMs(c.d));
    c.shed = await Shed.connect({ socketPath: c.d.socketPath });
  }
  return { ready, reconcile };
}

async function restartRows(c: Ctx, rounds: number): Promise<Row[]> {
  // The floor: the same daemon with nothing to re-link (node start, database, driver probe, API).
  const empty = await daemonDirs('shed-bench-daemon-empty-');
  const e: Ctx = { dirs: empty, d: await startShedd(empty), shed: c.shed, opts: c.opts };
  e.shed = await Shed.connect({ socketPath: e.d.socketPath });
  const floor = await restarts(e, rounds);
  e.shed.close();
  await e.d.stop();
  const full = await restarts(c, rounds);
  const all = await c.shed.sandboxes.list();
  check(all.length === RELINKED && all.every((s) => s.info.state === 'running'), `all ${RELINKED} sandboxes are running after the restarts`);
  const answers = await Promise.all(all.map(async (s) => (await s.exec(['echo', s.id])).stdout === `${s.id}\n`));
  check(answers.every(Boolean), 'every adopted sandbox answers exec');
  return [
    {
      suite: SUITE, name: `restart (kill -9) → ${RELINKED} sandboxes re-linked, spawn to READY`, unit: 'ms', higherIsBetter: false, stats: stats(full.ready),
      baseline: { name: 'shedd with no sandboxes, spawn to READY', stats: stats(floor.ready) },
    },
    { suite: SUITE, name: `  of which reconcile: ${RELINKED} adopted`, unit: 'ms', higherIsBetter: false, stats: stats(full.reconcile) },
  ];
}

/**
 * A spawned process printing numbered lines (about 100 a second, in bursts of 20: a `sleep`
 * per line would make the benchmark measure 5,000 forks a second), and a reader checking them.
 */
const STREAMER = 'i=0; while :; do j=0; while [ $j -lt 20 ]; do echo $i; i=$((i+1)); j=$((j+1)); done; sleep 0.2; done';
async function stream(sb: Sandbox): Promise<{ proc: SandboxProcess; lines: () => number; done: Promise<void> }> {
  const proc = await sb.spawn(['sh', '-c', STREAMER]);
  let next = 0;
  let partial = '';
  const done = (async () => {
    try {
      for await (const chunk of proc.stdout) {
        const text = partial + chunk.toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) check(l === String(next++), `stream line ${next - 1} of ${sb.id} arrives in order`);
      }
    } catch {
      // The stream ends with the kill below.
    }
  })();
  return { proc, lines: () => next, done };
}

async function execRows(c: Ctx, sandboxes: readonly Sandbox[], n: number): Promise<Row[]> {
  const sb = sandboxes[0];
  if (sb === undefined) throw new Error('no sandbox to exec in');
  const once = async (): Promise<void> => {
    const r = await sb.exec(['true']);
    check(r.exitCode === 0 && r.stdout === '' && r.stderr === '', 'true exits 0 silently');
  };
  await sampleMs(20, once);
  const quiet = stats(await sampleMs(n, once));
  const streams = await Promise.all(sandboxes.slice(0, STREAMS).map((s) => stream(s)));
  await new Promise((r) => setTimeout(r, 500));
  const total = (): number => streams.reduce((sum, s) => sum + s.lines(), 0);
  const before = total();
  const busy = stats(await sampleMs(n, once));
  const moved = streams.every((s) => s.lines() > 0) && total() > before;
  await Promise.all(streams.map(async (s) => {
    await s.proc.kill('SIGKILL');
    await s.proc.wait().catch(() => undefined);
    await s.done;
  }));
  check(moved, `all ${STREAMS} streams delivered lines, and more arrived while exec was measured`);
  return [
    { suite: SUITE, name: 'exec `true` round trip, sandboxes idle', unit: 'ms', higherIsBetter: false, budgetP50: 3, stats: quiet },
    { suite: SUITE, name: `exec \`true\` round trip, ${STREAMS} streams running`, unit: 'ms', higherIsBetter: false, budgetP50: 3, stats: busy },
  ];
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) / 1024;
}

async function memoryRows(c: Ctx, sandboxes: readonly Sandbox[], emptyRss: number): Promise<Row[]> {
  // Let the last creates' garbage be collected before reading the resident set.
  await new Promise((r) => setTimeout(r, 2000));
  const daemon = await rssMiB(c.d.pid);
  const agents = await Promise.all(sandboxes.map(async (s) => {
    return rssMiB((await containerHandles(c.dirs, s.id)).initPid);
  }));
  const one = (v: number): ReturnType<typeof stats> => stats([v]);
  if (daemon > 150) c.opts.note(`shedd RSS with ${sandboxes.length} idle sandboxes is ${daemon.toFixed(1)} MiB, over its 150 MiB budget`);
  return [
    { suite: SUITE, name: 'shedd RSS, no sandboxes (after start)', unit: 'MiB', higherIsBetter: false, stats: one(emptyRss) },
    { suite: SUITE, name: `shedd RSS, ${sandboxes.length} idle sandboxes`, unit: 'MiB', higherIsBetter: false, budgetP50: 150, stats: one(daemon) },
    { suite: SUITE, name: `agent RSS per sandbox (${sandboxes.length} sandboxes)`, unit: 'MiB', higherIsBetter: false, budgetP50: 1, stats: stats(agents) },
  ];
}

export const daemonSuite: Suite = {
  name: SUITE,
  description: `a real shedd with many sandboxes: restart re-linking ${RELINKED}, exec under ${STREAMS} streams, RSS with ${IDLE} idle`,
  async run(opts: SuiteOptions): Promise<Row[]> {
    const dirs = await daemonDirs('shed-bench-daemon-');
    const d = await startShedd(dirs);
    const c: Ctx = { dirs, d, shed: await Shed.connect({ socketPath: d.socketPath }), opts };
    try {
      await new Promise((r) => setTimeout(r, 500));
      const emptyRss = await rssMiB(c.d.pid);
      const t0 = performance.now();
      const progress = (what: string): void => console.error(`bench: ${SUITE}: ${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      await createMany(c, RELINKED, 0);
      progress(`${RELINKED} sandboxes created`);
      const restart = await restartRows(c, Math.max(2, Math.round(5 * opts.scale)));
      progress('restarts measured');
      const first = await c.shed.sandboxes.list();
      const execs = await execRows(c, first, Math.max(50, Math.round(500 * opts.scale)));
      progress('exec under streams measured');
      const all = [...first, ...(await createMany(c, IDLE - RELINKED, RELINKED))];
      progress(`${IDLE} sandboxes created`);
      const memory = await memoryRows(c, all, emptyRss);
      return [...restart, ...execs, ...memory];
    } finally {
      // Deletes run PARALLEL at a time: the teardown is mostly waiting on the kernel.
      await inBatches(await c.shed.sandboxes.list(), (s) => s.delete());
      c.shed.close();
      await c.d.stop();
      await cleanupTempDirs();
    }
  },
};
