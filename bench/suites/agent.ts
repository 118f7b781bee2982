// The agent link on its own: exec round trips through AgentClient against the real agent
// (PID 1 of a fresh pid namespace), next to the same commands spawned on the host.
import type { AgentClient } from '@shed/protocol';
import { startAgent } from '../../test/helpers/agent.js';
import { hostRun } from '../host.js';
import { stats, type Row } from '../report.js';
import { check, sampleMs, timeMs, type Suite, type SuiteOptions } from '../suite.js';

const SUITE = 'agent';
const KiB = 1024;
const MiB = 1024 * KiB;

/** The protocol's own round trip, with no process involved: the floor under every exec. */
async function ping(c: AgentClient, n: number): Promise<Row> {
  const once = async (): Promise<void> => {
    const ms = await c.ping();
    check(ms >= 0, 'ping answers');
  };
  await sampleMs(Math.min(n, 200), once);
  return { suite: SUITE, name: 'ping round trip', unit: 'ms', higherIsBetter: false, stats: stats(await sampleMs(n, once)) };
}

async function execTrue(c: AgentClient, n: number, warmup: number): Promise<Row> {
  const once = async (): Promise<void> => {
    const r = await c.run(['true']);
    check(r.exitCode === 0 && r.stdout.length === 0 && r.stderr.length === 0, 'true exits 0 silently');
  };
  await sampleMs(warmup, once);
  const samples = await sampleMs(n, once);
  const host = async (): Promise<void> => {
    const r = await hostRun(['/bin/true']);
    check(r.exitCode === 0, 'host true exits 0');
  };
  await sampleMs(warmup, host);
  const hostSamples = await sampleMs(n, host);
  return {
    suite: SUITE, name: 'exec `true` round trip', unit: 'ms', higherIsBetter: false, budgetP50: 1,
    stats: stats(samples), baseline: { name: "spawn('/bin/true')", stats: stats(hostSamples) },
  };
}

async function parallel(c: AgentClient, rounds: number): Promise<Row> {
  const width = 100;
  const agentRound = async (): Promise<void> => {
    const rs = await Promise.all(Array.from({ length: width }, (_, i) => c.run(['sh', '-c', 'echo $0', String(i)])));
    rs.forEach((r, i) => check(r.stdout.toString() === `${i}\n`, `parallel exec ${i} echoes its index`));
  };
  const hostRound = async (): Promise<void> => {
    const rs = await Promise.all(Array.from({ length: width }, (_, i) => hostRun(['sh', '-c', 'echo $0', String(i)], true)));
    rs.forEach((r, i) => check(r.stdout?.toString() === `${i}\n`, `host parallel ${i} echoes its index`));
  };
  await agentRound();
  const samples = await sampleMs(rounds, agentRound);
  await hostRound();
  const hostSamples = await sampleMs(rounds, hostRound);
  return {
    suite: SUITE, name: `${width} parallel execs (wall time)`, unit: 'ms', higherIsBetter: false,
    stats: stats(samples), baseline: { name: `${width} parallel spawns`, stats: stats(hostSamples) },
  };
}

async function throughput(c: AgentClient, bytes: number, label: string, n: number): Promise<Row> {
  const argv = ['head', '-c', String(bytes), '/dev/zero'];
  const agentOnce = async (): Promise<void> => {
    const h = c.exec({ argv });
    let got = 0;
    for await (const chunk of h) got += chunk.data.byteLength;
    const exit = await h.wait();
    check(got === bytes && exit.exitCode === 0 && exit.outputBytes === bytes, `${label} arrives whole`);
  };
  const hostOnce = async (): Promise<void> => {
    const r = await hostRun(argv);
    check(r.stdoutBytes === bytes && r.exitCode === 0, `host ${label} arrives whole`);
  };
  const rate = (ms: number): number => bytes / MiB / (ms / 1000);
  await agentOnce();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(rate(await timeMs(agentOnce)));
  await hostOnce();
  const hostSamples: number[] = [];
  for (let i = 0; i < n; i++) hostSamples.push(rate(await timeMs(hostOnce)));
  return {
    suite: SUITE, name: `${label} stdout throughput`, unit: 'MiB/s', higherIsBetter: true,
    stats: stats(samples), baseline: { name: `spawn + pipe ${label}`, stats: stats(hostSamples) },
  };
}

export const agentSuite: Suite = {
  name: SUITE,
  description: 'exec round trip, parallel execs and output throughput through AgentClient and the real agent',
  async run(opts: SuiteOptions): Promise<Row[]> {
    const scaled = (n: number): number => Math.max(5, Math.round(n * opts.scale));
    const agent = await startAgent();
    try {
      const c = agent.client;
      return [
        await ping(c, scaled(2000)),
        await execTrue(c, scaled(2000), scaled(200)),
        await parallel(c, scaled(30)),
        await throughput(c, 64 * KiB, '64 KiB', scaled(500)),
        await throughput(c, 64 * MiB, '64 MiB', scaled(20)),
      ];
    } finally {
      await agent.stop();
    }
  },
};
