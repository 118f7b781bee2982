// Reaching ports inside sandboxes, next to plain host loopback in the same run:
//  - the agent tunnel alone (AgentClient.connectTcp; the test agent shares the host's network
//    namespace, so it connects to a sink/source server on host loopback): throughput both
//    ways and connect latency, against net.connect to the same servers;
//  - the whole path through shedd to a real sandbox: SDK sb.ports.connect (shedd's TCP
//    upgrade route → agent → busybox nc in the sandbox) and a proxied HTTP GET to busybox
//    httpd, against the same client code on host loopback.
// Every sample is checked: byte counts match, GETs return the file.
import { once } from 'node:events';
import { get, createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AgentClient } from '@shed/protocol';
import { Shed } from '@shed/sdk';
import { startAgent } from '../../test/helpers/agent.js';
import { cleanupTempDirs } from '../../test/helpers/leaks.js';
import { waitListening } from '../../test/helpers/sandbox-ports.js';
import { daemonDirs, startShedd } from '../../test/e2e/shedd.js';
import { stats, type Row } from '../report.js';
import { check, sampleMs, type Suite, type SuiteOptions } from '../suite.js';

const SUITE = 'ports';
const MiB = 1024 * 1024;
const CHUNK = Buffer.alloc(MiB, 0x5a);
const SINK_PORT = 9000;
const HTTP_PORT = 8000;
/**
 * The sandbox's sink: prints how many whole MiB it read (busybox `wc -c` counts one byte at a
 * time, ~140 MiB/s here, and this image's dd prints no byte total).
 */
const SINK_SCRIPT = '#!/bin/sh\ndd of=/dev/null bs=1048576 iflag=fullblock 2>&1 | sed -n "s/^\\([0-9]*\\)+0 records in$/\\1/p"\n';

async function listen(server: Server | import('node:http').Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port; // a TCP listener's address
}

/** Counts what a connection sends and answers the count once it half-closes (like `wc -c`). */
function sinkServer(): Server {
  return createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined); // a connect-latency sample resets its connection at once
    let n = 0;
    s.on('data', (d: Buffer) => (n += d.length));
    s.on('end', () => s.end(`${n}\n`));
  });
}

/** Sends `bytes` and closes. */
function sourceServer(bytes: number): Server {
  return createServer((s) => {
    s.on('error', () => undefined);
    void (async () => {
      for (let left = bytes; left > 0; left -= MiB) if (!s.write(left >= MiB ? CHUNK : CHUNK.subarray(0, left))) await once(s, 'drain');
      s.end();
    })();
  });
}

/** Writes `bytes`, half-closes, and returns the peer's answer (the sink's count). */
async function pushThrough(s: Duplex, bytes: number): Promise<string> {
  let answer = '';
  s.on('data', (d: Buffer) => (answer += d.toString()));
  const ended = once(s, 'end');
  for (let left = bytes; left > 0; left -= MiB) if (!s.write(left >= MiB ? CHUNK : CHUNK.subarray(0, left))) await once(s, 'drain');
  s.end();
  await ended;
  s.destroy();
  return answer.trim();
}

async function pullAll(s: Duplex): Promise<number> {
  let n = 0;
  for await (const c of s) n += (c as Buffer).length;
  return n;
}

function hostConnect(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  return once(s, 'connect').then(() => s);
}

function rateRow(name: string, bytes: number, samples: number[], baseline: { name: string; samples: number[] }): Row {
  const rate = (ms: number): number => bytes / MiB / (ms / 1000);
  return {
    suite: SUITE, name, unit: 'MiB/s', higherIsBetter: true,
    stats: stats(samples.map(rate)), baseline: { name: baseline.name, stats: stats(baseline.samples.map(rate)) },
  };
}

async function agentRows(c: AgentClient, opts: SuiteOptions, n: (k: number) => number): Promise<Row[]> {
  const bytes = 64 * MiB;
  const sink = sinkServer();
  const source = sourceServer(bytes);
  const [sinkPort, sourcePort] = [await listen(sink), await listen(source)];
  try {
    const up = async (s: Duplex): Promise<void> => check((await pushThrough(s, bytes)) === String(bytes), 'the sink counted every byte');
    const down = async (s: Duplex): Promise<void> => check((await pullAll(s)) === bytes, 'every byte of the source arrived');
    const upAgent = await sampleMs(n(10), async () => up(await c.connectTcp(sinkPort)));
    const upHost = await sampleMs(n(10), async () => up(await hostConnect(sinkPort)));
    const downAgent = await sampleMs(n(10), async () => down(await c.connectTcp(sourcePort)));
    const downHost = await sampleMs(n(10), async () => down(await hostConnect(sourcePort)));
    const connectOnce = async (open: () => Promise<Duplex>): Promise<void> => {
      const s = await open();
      check(!s.destroyed, 'connected');
      s.destroy();
    };
    await sampleMs(n(50), () => connectOnce(() => c.connectTcp(sinkPort)));
    const connAgent = await sampleMs(n(500), () => connectOnce(() => c.connectTcp(sinkPort)));
    const connHost = await sampleMs(n(500), () => connectOnce(() => hostConnect(sinkPort)));
    opts.note('agent rows: the test agent shares the host network namespace; the servers are on host loopback');
    return [
      rateRow('host → port, 64 MiB (agent tunnel)', bytes, upAgent, { name: 'net.connect on loopback', samples: upHost }),
      rateRow('port → host, 64 MiB (agent tunnel)', bytes, downAgent, { name: 'net.connect on loopback', samples: downHost }),
      {
        suite: SUITE, name: 'connect (agent tunnel)', unit: 'ms', higherIsBetter: false,
        stats: stats(connAgent), baseline: { name: 'net.connect on loopback', stats: stats(connHost) },
      },
    ];
  } finally {
    sink.close();
    source.close();
  }
}

async function httpText(port: number, path: string): Promise<string> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => get({ host: '127.0.0.1', port, path }, resolve).on('error', reject));
  let body = '';
  for await (const c of res) body += (c as Buffer).toString();
  return body;
}

async function sheddRows(n: (k: number) => number): Promise<Row[]> {
  const bytes = 64 * MiB;
  const dirs = await daemonDirs('shed-bench-ports-');
  const d = await startShedd(dirs);
  const shed = await Shed.connect({ socketPath: d.socketPath });
  const sink = sinkServer();
  const page = 'hello from the bench\n';
  const web = createHttpServer((_req, res) => res.end(page));
  try {
    const sb = await shed.sandboxes.create({ image: 'default' });
    await sb.exec(['mkdir', '-p', '/www']);
    await sb.files.write('/www/index.html', page);
    await sb.files.write('/sink.sh', SINK_SCRIPT, { mode: 0o755 });
    await sb.spawn(['busybox', 'nc', '-ll', '-p', String(SINK_PORT), '-e', '/sink.sh']);
    await sb.spawn(['busybox', 'httpd', '-f', '-p', `127.0.0.1:${HTTP_PORT}`, '-h', '/www']);
    await waitListening(sb, SINK_PORT);
    await waitListening(sb, HTTP_PORT);
    const [sinkPort, webPort] = [await listen(sink), await listen(web)];
    const up = async (s: Duplex, want: string): Promise<void> => check((await pushThrough(s, bytes)) === want, 'the sink counted every byte');
    const upShedd = await sampleMs(n(10), async () => up(await sb.ports.connect(SINK_PORT), String(bytes / MiB)));
    const upHost = await sampleMs(n(10), async () => up(await hostConnect(sinkPort), String(bytes)));
    const getShedd = async (): Promise<void> => {
      const r = await sb.ports.fetch(HTTP_PORT, '/index.html');
      check(r.status === 200 && (await r.text()) === page, 'the proxied GET returns the page');
    };
    const getHost = async (): Promise<void> => check((await httpText(webPort, '/')) === page, 'the host GET returns the page');
    await sampleMs(n(20), getShedd);
    const gets = await sampleMs(n(200), getShedd);
    const hostGets = await sampleMs(n(200), getHost);
    // Against httpd: nc's accept queue is one deep and each accept forks, which a burst of
    // connects would measure instead of shed.
    const conn = async (): Promise<void> => void (await sb.ports.connect(HTTP_PORT)).destroy();
    const conns = await sampleMs(n(200), conn);
    const hostConns = await sampleMs(n(200), async () => void (await hostConnect(sinkPort)).destroy());
    return [
      rateRow('host → sandbox port, 64 MiB (shedd TCP route + agent)', bytes, upShedd, { name: 'net.connect on loopback', samples: upHost }),
      {
        suite: SUITE, name: 'connect through shedd (upgrade + agent connect, to httpd)', unit: 'ms', higherIsBetter: false,
        stats: stats(conns), baseline: { name: 'net.connect on loopback', stats: stats(hostConns) },
      },
      {
        suite: SUITE, name: 'proxied HTTP GET (busybox httpd in the sandbox)', unit: 'ms', higherIsBetter: false,
        stats: stats(gets), baseline: { name: 'GET to a node:http server on loopback', stats: stats(hostGets) },
      },
    ];
  } finally {
    sink.close();
    web.close();
    for (const s of await shed.sandboxes.list()) await s.delete();
    shed.close();
    await d.stop();
    await cleanupTempDirs();
  }
}

export const portsSuite: Suite = {
  name: SUITE,
  description: 'TCP through the agent tunnel and through shedd to a sandbox port, next to host loopback',
  async run(opts: SuiteOptions): Promise<Row[]> {
    const scaled = (k: number): number => Math.max(3, Math.round(k * opts.scale));
    const agent = await startAgent();
    let rows: Row[];
    try {
      rows = await agentRows(agent.client, opts, scaled);
    } finally {
      await agent.stop();
    }
    return [...rows, ...(await sheddRows(scaled))];
  },
};
