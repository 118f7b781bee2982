// Network 'nat' (docs/networking.md), in a network namespace pair the suite creates, like the
// tests: shedd runs in a "daemon" netns whose default route is an "uplink" netns, where the
// sink server runs, so no traffic leaves the machine.
//  - cold create → exec-ready with network 'nat', against 'none' in the same daemon and run
//    (samples alternate), and the create's network phase;
//  - throughput sandbox → uplink through the bridge and NAT (busybox nc reading N bytes from a
//    Node sink), against the same client and server on the host's own loopback.
// Every sample is checked: a nat sandbox has an address and answers exec; the byte counts match.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Shed, type Sandbox } from '@shed/sdk';
import { cleanupTempDirs } from '../../test/helpers/leaks.js';
import { UPLINK_ADDR, makeNetnsPair, startUplinkServers } from '../../test/helpers/netns.js';
import { daemonDirs, startShedd } from '../../test/e2e/shedd.js';
import { hostRun } from '../host.js';
import { stats, type Row } from '../report.js';
import { check, timeMs, type Suite, type SuiteOptions } from '../suite.js';

const SUITE = 'network';
const SINK_PORT = 9000;
const HOST_SINK_PORT = 19_000;
/**
 * Between samples: the kernel finishes a teardown (netns release included), and shedd replaces
 * a taken spare netns in the background after the create; neither may land in the next sample.
 */
const SETTLE_MS = 250;
const MiB = 1024 * 1024;
const SINK = fileURLToPath(new URL('../../test/helpers/uplink-server.js', import.meta.url));

async function coldCreates(shed: Shed, n: number): Promise<{ none: number[]; nat: number[]; phase: number[] }> {
  const out = { none: [] as number[], nat: [] as number[], phase: [] as number[] };
  const once = async (network: 'none' | 'nat', i: number, keep: boolean): Promise<void> => {
    let sb: Sandbox | undefined;
    const ms = await timeMs(async () => {
      sb = await shed.sandboxes.create({ image: 'default', network });
    });
    if (sb === undefined) throw new Error('create returned nothing');
    check((await sb.exec(['echo', String(i)])).stdout === `${i}\n`, 'the new sandbox runs a command');
    if (network === 'nat') check(/^10\.88\./.test(sb.info.address ?? ''), 'a nat sandbox has an address');
    if (keep) {
      out[network].push(ms);
      const phase = sb.info.timings.create?.['driver.network'];
      if (network === 'nat' && phase !== undefined) out.phase.push(phase);
    }
    await sb.delete();
    await sleep(SETTLE_MS);
  };
  for (let i = 0; i < 3; i++) {
    await once('none', i, false);
    await once('nat', i, false);
  }
  for (let i = 0; i < n; i++) {
    await once('none', i, true);
    await once('nat', i, true);
  }
  return out;
}

const cmd = (bytes: number, host: string, port: number): string => `echo ${bytes} | nc ${host} ${port} | wc -c`;

async function throughput(sb: Sandbox, bytes: number, n: number): Promise<{ nat: number[]; loopback: number[] }> {
  const host = await startHostSink();
  try {
    const nat: number[] = [];
    const loopback: number[] = [];
    for (let i = 0; i < n + 1; i++) {
      let got = '';
      const a = await timeMs(async () => {
        got = (await sb.exec(['sh', '-c', cmd(bytes, UPLINK_ADDR, SINK_PORT)])).stdout.trim();
      });
      check(got === String(bytes), `the sandbox read ${bytes} bytes from the uplink (got ${got})`);
      let hostGot = '';
      const b = await timeMs(async () => {
        const r = await hostRun(['sh', '-c', cmd(bytes, '127.0.0.1', HOST_SINK_PORT).replace('nc', 'busybox nc')], true);
        hostGot = r.stdout?.toString().trim() ?? '';
      });
      check(hostGot === String(bytes), `the host read ${bytes} bytes on loopback (got ${hostGot})`);
      if (i === 0) continue; // warm-up
      nat.push(bytes / MiB / (a / 1000));
      loopback.push(bytes / MiB / (b / 1000));
    }
    return { nat, loopback };
  } finally {
    host.kill('SIGKILL');
  }
}

/** The same sink server on the host's loopback (the bench's own netns). */
function startHostSink(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [SINK, '127.0.0.1', JSON.stringify({ sinkPort: HOST_SINK_PORT })], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((done, fail) => {
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      if (s.includes('READY')) done(child);
    });
    child.once('exit', (code) => fail(new Error(`host sink exited (${code})`)));
  });
}

/** SHED_BENCH_SPARE_NETNS=N: shedd with network.spareNetns = N (0 compares against no spares); unset: the default. */
async function spareNetnsArgs(dir: string): Promise<string[]> {
  const n = process.env['SHED_BENCH_SPARE_NETNS'];
  if (n === undefined) return [];
  if (!/^\d+$/.test(n)) throw new Error(`SHED_BENCH_SPARE_NETNS='${n}' is not a count`);
  const config = join(dir, 'shedd.toml');
  await writeFile(config, `[network]\nspareNetns = ${n}\n`);
  return ['--config', config];
}

async function run(opts: SuiteOptions): Promise<Row[]> {
  const pair = await makeNetnsPair();
  const dirs = await daemonDirs('shed-bench-net-');
  const uplink = await startUplinkServers(pair, { sinkPort: SINK_PORT });
  const d = await startShedd(dirs, { netns: pair.daemonNs, args: await spareNetnsArgs(dirs.dir) });
  const shed = await Shed.connect({ socketPath: d.socketPath });
  try {
    const c = await coldCreates(shed, Math.max(5, Math.round(40 * opts.scale)));
    const bytes = (opts.scale < 1 ? 16 : 128) * MiB;
    const sb = await shed.sandboxes.create({ image: 'default', network: 'nat' });
    const t = await throughput(sb, bytes, Math.max(2, Math.round(5 * opts.scale)));
    await sb.delete();
    const rows: Row[] = [
      {
        suite: SUITE, name: "cold create → exec-ready, network 'nat' (SDK)", unit: 'ms', higherIsBetter: false, budgetP50: 40,
        stats: stats(c.nat), baseline: { name: "network 'none', same run", stats: stats(c.none) },
      },
      { suite: SUITE, name: '  create phase driver.network (in parallel with overlay, socket, config)', unit: 'ms', higherIsBetter: false, stats: stats(c.phase) },
      {
        suite: SUITE, name: `throughput sandbox → uplink, ${bytes / MiB} MiB over bridge + NAT (busybox nc)`, unit: 'MiB/s', higherIsBetter: true,
        stats: stats(t.nat), baseline: { name: "host's own loopback, same client and server", stats: stats(t.loopback) },
      },
    ];
    const p50 = rows[0]?.stats.p50 ?? 0;
    if (p50 > 40) opts.note(`nat cold create p50 ${p50.toFixed(1)} ms is over its 40 ms budget (none: ${stats(c.none).p50.toFixed(1)} ms; network phase p50 ${stats(c.phase).p50.toFixed(1)} ms)`);
    return rows;
  } finally {
    for (const s of await shed.sandboxes.list()) await s.delete();
    shed.close();
    await d.stop();
    await uplink.stop();
    await pair.dispose();
    await cleanupTempDirs();
  }
}

export const networkSuite: Suite = {
  name: SUITE,
  description: "network 'nat' in a netns pair: cold create against 'none', throughput to an uplink against the host's loopback",
  run,
};
