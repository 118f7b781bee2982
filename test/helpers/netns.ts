// Network namespaces for tests of network 'nat': shedd runs in a "daemon" netns joined by a
// veth pair to an "uplink" netns, whose address is the daemon netns's default route. The
// test's servers (TCP, HTTP, DNS) run in the uplink, so NAT'd sandbox traffic ends there and
// never leaves the machine. Everything is tracked by the leak check and removed by dispose().
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { trackNetns } from './leaks.js';

export const DAEMON_ADDR = '198.18.0.1';
export const UPLINK_ADDR = '198.18.0.2';

export interface NetnsPair {
  /** Where shedd runs (startShedd's `netns`). */
  readonly daemonNs: string;
  /** Where the test's servers run. */
  readonly uplinkNs: string;
  /** Deletes both namespaces (and so the veth pair and all that shedd made in its netns). */
  dispose(): Promise<void>;
}

function run(cmd: string, args: readonly string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    c.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    c.once('error', (err) => done({ code: -1, stdout, stderr: err.message }));
    c.once('close', (code) => done({ code: code ?? -1, stdout, stderr }));
    c.stdin.on('error', () => undefined); // a command that reads no stdin may exit first: EPIPE is no failure
    c.stdin.end(input);
  });
}

export async function mustRun(cmd: string, args: readonly string[], input = ''): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Runs `cmd` inside netns `ns`. */
export const inNetns = (ns: string, cmd: string, args: readonly string[], input = ''): Promise<string> => mustRun('ip', ['netns', 'exec', ns, cmd, ...args], input);

export async function makeNetnsPair(): Promise<NetnsPair> {
  const tag = randomBytes(3).toString('hex');
  const daemonNs = `shedt-${tag}-d`;
  const uplinkNs = `shedt-${tag}-u`;
  trackNetns(daemonNs);
  trackNetns(uplinkNs);
  const dispose = async (): Promise<void> => {
    await run('ip', ['netns', 'del', daemonNs]);
    await run('ip', ['netns', 'del', uplinkNs]);
  };
  try {
    await mustRun('ip', ['-batch', '-'], `netns add ${daemonNs}\nnetns add ${uplinkNs}\n`);
    await mustRun('ip', ['link', 'add', `sd${tag}`, 'netns', daemonNs, 'type', 'veth', 'peer', 'name', `su${tag}`, 'netns', uplinkNs]);
    await inNetns(daemonNs, 'ip', ['-batch', '-'],
      `addr add ${DAEMON_ADDR}/24 dev sd${tag}\nlink set sd${tag} up\nlink set lo up\nroute add default via ${UPLINK_ADDR}\n`);
    await inNetns(uplinkNs, 'ip', ['-batch', '-'], `addr add ${UPLINK_ADDR}/24 dev su${tag}\nlink set su${tag} up\nlink set lo up\n`);
  } catch (err) {
    await dispose();
    throw err;
  }
  return { daemonNs, uplinkNs, dispose };
}

/** What the uplink serves: TCP ports answering "port N\n" to anything, and DNS names → IPv4. */
export interface UplinkServices {
  readonly tcpPorts?: readonly number[];
  readonly dns?: Readonly<Record<string, string>>;
  /** Bytes sent to each connection of the sink port (throughput), after which it closes. */
  readonly sinkPort?: number;
}

export interface UplinkServers {
  /** Names the DNS server was asked for, in order. */
  dnsQueries(): string[];
  stop(): Promise<void>;
}

const SERVER = fileURLToPath(new URL('./uplink-server.js', import.meta.url));

/** Starts test/helpers/uplink-server.ts inside the uplink netns; resolves when it listens. */
export async function startUplinkServers(pair: NetnsPair, services: UplinkServices): Promise<UplinkServers> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', pair.uplinkNs, process.execPath, SERVER, UPLINK_ADDR, JSON.stringify(services)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const queries: string[] = [];
  await new Promise<void>((done, fail) => {
    let buf = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      buf += s;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === 'READY') done();
        else if (line.startsWith('QUERY ')) queries.push(line.slice(6));
      }
    });
    child.once('exit', (code) => fail(new Error(`uplink servers exited (${code})`)));
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    dnsQueries: () => [...queries],
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
