// Network 'nat' end to end: a real shedd in a test netns, its sandboxes NAT'd to an uplink
// netns where the test's servers run (test/helpers/netns.ts). Nothing leaves the machine.
// Covers egress allow/deny, isolation from other sandboxes and from the host (the daemon's
// TCP API included), DNS through the configured resolver (UDP and TCP), 100 distinct leases, and that
// leases, veths and rules are gone after delete, a failed create and a kill -9. shedd keeps
// spare netns here (network.spareNetns): creates take them, and the checks count them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { openDb } from '@shed/server';
import { Shed, ShedApiError, type Sandbox } from '@shed/sdk';
import { shedNetworkLeftovers, useLeakCheck } from '../helpers/leaks.js';
import { waitListening } from '../helpers/sandbox-ports.js';
import { DAEMON_ADDR, UPLINK_ADDR, makeNetnsPair, startUplinkServers, type NetnsPair, type UplinkServers } from '../helpers/netns.js';
import { daemonDirs, e2eUnavailable, runCli, startShedd, type DaemonDirs, type Shedd } from '../e2e/shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# network tests skipped: ${skip}`);
useLeakCheck();

const SUBNET = '10.77.0.0/16';
const GATEWAY = '10.77.0.1';
const API_PORT = 7420;
const TOKEN = 'b'.repeat(32);
const small = { memoryMiB: 32, pidsMax: 64 } as const;
const SPARES = 2;

/**
 * `nc` from inside a sandbox: what it printed, and whether it connected. `holdMs`: keep nc's
 * stdin open that long, for servers slower to answer than busybox nc is to quit at stdin's EOF.
 */
async function connect(sb: Sandbox, host: string, port: number, holdMs = 0): Promise<{ ok: boolean; out: string }> {
  const stdin = holdMs === 0 ? '< /dev/null' : '';
  const feed = holdMs === 0 ? '' : `sleep ${holdMs / 1000} | `;
  const r = await sb.exec(['sh', '-c', `${feed}nc -w 2 ${host} ${port} ${stdin}`]);
  return { ok: r.exitCode === 0, out: r.stdout + r.stderr };
}

/**
 * Resolves once a TCP socket listens on `port` in the sandbox's own network namespace, read
 * from its /proc/net/tcp (state 0A): unlike a probe connection, this does not use up a
 * one-connection `nc -l`, whose loop would then be between listeners for a moment.
 */
async function listeningIn(sb: Sandbox, port: number): Promise<void> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const deadline = Date.now() + 10_000; ;) {
    const r = await sb.exec(['sh', '-c', `grep -q ':${hex} [0-9A-F]*:0000 0A' /proc/net/tcp /proc/net/tcp6`]);
    if (r.exitCode === 0) return;
    assert.ok(Date.now() < deadline, `nothing listened on ${port} in sandbox ${sb.id} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function runIn(ns: string, args: string[]): Promise<string> {
  return (await promisify(execFile)('ip', ['netns', 'exec', ns, ...args])).stdout;
}

describe('network nat', { skip }, () => {
  let pair: NetnsPair;
  let uplink: UplinkServers;
  let dirs: DaemonDirs;
  let d: Shedd;
  let shed: Shed;
  let config: string;

  const start = async (env: Record<string, string> = {}): Promise<void> => {
    d = await startShedd(dirs, { netns: pair.daemonNs, args: ['--config', config, '--listen-tcp', `0.0.0.0:${API_PORT}`], env: { SHED_TOKEN: TOKEN, ...env } });
    shed = await Shed.connect({ socketPath: d.socketPath });
  };
  const restart = async (how: 'kill9' | 'stop', env: Record<string, string> = {}): Promise<void> => {
    shed.close();
    await d[how]();
    await start(env);
  };
  const leases = (): { address: string; sandbox_id: string }[] => {
    const db = openDb({ path: join(dirs.dataDir, 'shed.db') });
    try {
      return db.prepare('SELECT address, sandbox_id FROM net_leases').all() as { address: string; sandbox_id: string }[]; // the columns selected
    } finally {
      db.close();
    }
  };
  /** Leases no sandbox holds: the spare netns' (network.spareNetns). */
  const spareLeases = async (): Promise<{ address: string; sandbox_id: string }[]> => {
    const ids = new Set((await shed.sandboxes.list()).map((s) => s.id));
    return leases().filter((l) => !ids.has(l.sandbox_id));
  };
  /** Waits for the pool to hold `n` spares (a refill runs after a create). */
  const waitSpares = async (n: number): Promise<{ address: string; sandbox_id: string }[]> => {
    let spares = await spareLeases();
    for (let i = 0; i < 200 && spares.length !== n; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      spares = await spareLeases();
    }
    assert.equal(spares.length, n, `${n} spare netns (leases no sandbox holds): ${JSON.stringify(spares)}`);
    return spares;
  };
  /**
   * Nothing left but `spares` spare netns (exactly that many: a leaked lease would be one
   * more), whose veth and bridge port are theirs.
   */
  const assertClean = async (spares = SPARES): Promise<void> => {
    const ifaces = (await waitSpares(spares)).map((l) => `sh${l.sandbox_id.slice(3)}`);
    const theirs = (item: string): boolean => ifaces.some((i) => item.includes(i));
    const left = (await shedNetworkLeftovers(pair.daemonNs)).flatMap((item) => {
      if (!item.startsWith('nft elements ')) return theirs(item) ? [] : [item];
      const rest = item.slice('nft elements '.length).split(',').map((e) => e.trim()).filter((e) => !theirs(e));
      return rest.length === 0 ? [] : [`nft elements ${rest.join(', ')}`];
    });
    assert.deepEqual(left, [], 'no veth, chain or element left in the daemon netns');
    assert.equal(leases().length, spares, 'no address lease left but the spares\'');
  };

  before(async () => {
    pair = await makeNetnsPair();
    uplink = await startUplinkServers(pair, { tcpPorts: [8080, 8081], dns: { 'svc.shed.test.': UPLINK_ADDR, 'svc.shed.test': UPLINK_ADDR } });
    dirs = await daemonDirs('shed-net-');
    const resolv = join(dirs.dir, 'resolv.conf');
    await writeFile(resolv, `nameserver ${UPLINK_ADDR}\n`);
    config = join(dirs.dir, 'shedd.toml');
    await writeFile(config, `[network]\nsubnet = "${SUBNET}"\nresolvConf = "${resolv}"\nspareNetns = ${SPARES}\n`);
    await start();
  });

  after(async () => {
    try {
      if (shed !== undefined) {
        for (const s of await shed.sandboxes.list()) await s.delete();
        shed.close();
      }
    } finally {
      await d?.stop();
      await uplink?.stop();
      await pair?.dispose();
    }
  });

  it('a nat sandbox gets an address, reaches an allowed server and is refused by a denied one', async () => {
    const sb = await shed.sandboxes.create({ ...small, network: 'nat', egress: { deny: [`${UPLINK_ADDR}/32:8081`] } });
    assert.match(sb.info.address ?? '', /^10\.77\.\d+\.\d+$/);
    assert.deepEqual(sb.info.egress, { allow: [], deny: [`${UPLINK_ADDR}/32:8081`], allowHost: false, allowSandboxes: false });
    const allowed = await connect(sb, UPLINK_ADDR, 8080);
    assert.ok(allowed.ok, allowed.out);
    assert.match(allowed.out, /port 8080/);
    const denied = await connect(sb, UPLINK_ADDR, 8081);
    assert.equal(denied.ok, false);
    assert.match(denied.out, /refused/, 'a TCP reset: refused at once, not a timeout');
    await sb.delete();
  });

  it('the CLI creates with --network nat and its policy flags; inspect shows the address and policy', async () => {
    const made = await runCli(dirs, 'create', 'default', '--network', 'nat', '--deny', `${UPLINK_ADDR}:8081`, '--allow-host', '--memory-mib', '32');
    assert.equal(made.code, 0, made.stderr);
    const id = made.stdout.trim();
    const shown = await runCli(dirs, 'inspect', id);
    assert.match(shown.stdout, new RegExp(`network: +nat, address 10\\.77\\.\\d+\\.\\d+; deny ${UPLINK_ADDR.replaceAll('.', '\\.')}:8081; host allowed`));
    const bad = await runCli(dirs, 'create', 'default', '--network', 'nat', '--allow', '10.0.0.1/8');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid_argument|pattern|CIDR/);
    assert.equal((await runCli(dirs, 'rm', id)).code, 0);
  });

  it('stop releases the address, start leases one again and the network works', async () => {
    const sb = await shed.sandboxes.create({ ...small, network: 'nat' });
    await sb.stop();
    const stopped = await shed.sandboxes.get(sb.id);
    assert.equal(stopped.info.address, null);
    assert.equal(leases().some((l) => l.sandbox_id === sb.id), false);
    await stopped.start();
    const again = await shed.sandboxes.get(sb.id);
    assert.match(again.info.address ?? '', /^10\.77\./);
    assert.ok((await connect(again, UPLINK_ADDR, 8080)).ok);
    await again.delete();
  });

  it('with an allow list only what it names is reachable', async () => {
    const sb = await shed.sandboxes.create({ ...small, network: 'nat', egress: { allow: [`${UPLINK_ADDR}:8081`] } });
    assert.ok((await connect(sb, UPLINK_ADDR, 8081)).ok);
    assert.equal((await connect(sb, UPLINK_ADDR, 8080)).ok, false);
    await sb.delete();
  });

  it('two sandboxes cannot reach each other unless both allow it', async () => {
    const made: Sandbox[] = [];
    try {
      const [a, b] = await Promise.all([1, 2].map(() => shed.sandboxes.create({ ...small, network: 'nat' })));
      assert.ok(a !== undefined && b !== undefined);
      made.push(a, b);
      await b.spawn(['sh', '-c', 'while true; do echo from-b | nc -l -p 7000; done']);
      await listeningIn(b, 7000); // so the refusal below is the policy's, not a server not up yet
      assert.equal((await connect(a, b.info.address ?? '', 7000)).ok, false, 'a cannot reach b');
      const [c, e] = await Promise.all([1, 2].map(() => shed.sandboxes.create({ ...small, network: 'nat', egress: { allowSandboxes: true } })));
      assert.ok(c !== undefined && e !== undefined);
      made.push(c, e);
      await e.spawn(['sh', '-c', 'while true; do echo from-e | nc -l -p 7000; done']);
      await listeningIn(e, 7000);
      // The loop restarts nc after each connection: a refusal in that gap is retried.
      let open = await connect(c, e.info.address ?? '', 7000, 500);
      for (let i = 0; i < 20 && !open.ok; i++) {
        await new Promise((r) => setTimeout(r, 50));
        open = await connect(c, e.info.address ?? '', 7000, 500);
      }
      assert.ok(open.ok, `both allow it: ${open.out}`);
      assert.match(open.out, /from-e/);
      assert.equal((await connect(c, b.info.address ?? '', 7000)).ok, false, 'b does not allow it');
    } finally {
      await Promise.all(made.map((s) => s.delete()));
    }
  });

  it("cannot reach the host: not the daemon's API on any host address, not other host ports", async () => {
    const sb = await shed.sandboxes.create({ ...small, network: 'nat' });
    for (const host of [GATEWAY, DAEMON_ADDR]) {
      const r = await connect(sb, host, API_PORT);
      assert.equal(r.ok, false, `${host}:${API_PORT} is the daemon's TCP API`);
      assert.match(r.out, /refused/);
    }
    assert.equal((await connect(sb, GATEWAY, 22)).ok, false);
    const open = await shed.sandboxes.create({ ...small, network: 'nat', egress: { allowHost: true } });
    assert.ok((await connect(open, DAEMON_ADDR, API_PORT)).ok, 'allowHost reaches it (the check above can fail)');
    await Promise.all([sb.delete(), open.delete()]);
  });

  it('resolves names through the configured resolver (forwarded by shedd on the bridge address)', async () => {
    const sb = await shed.sandboxes.create({ ...small, network: 'nat' });
    assert.equal(await sb.files.readText('/etc/resolv.conf').then((t) => /nameserver 10\.77\.0\.1/.test(t)), true);
    const r = await sb.exec(['nslookup', 'svc.shed.test']);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`Address:\\s+${UPLINK_ADDR.replaceAll('.', '\\.')}(\\s|$)`, 'm'));
    assert.ok(uplink.dnsQueries().some((q) => q.startsWith('svc.shed.test')), 'the uplink resolver answered it');
    // Over TCP too (a resolver's retry after a truncated answer): one framed query through nc.
    const q = dnsPacket.encode({ type: 'query', id: 77, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'svc.shed.test' }] });
    const bytes = [q.length >> 8, q.length & 0xff, ...q].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
    const tcp = await sb.exec(['sh', '-c', `(printf '${bytes}'; sleep 1) | nc -w 2 ${GATEWAY} 53 | od -An -v -tx1`]);
    const reply = Buffer.from(tcp.stdout.replace(/\s+/g, ''), 'hex');
    assert.ok(reply.length > 2, `no answer over TCP: ${tcp.stderr}`);
    const answer = dnsPacket.decode(reply.subarray(2));
    assert.equal(answer.id, 77);
    assert.deepEqual(answer.answers?.map((a) => (a.type === 'A' ? a.data : a.type)), [UPLINK_ADDR]);
    await sb.delete();
  });

  it("a port inside a nat sandbox is reached through shedd's proxy (the agent connects inside its namespace)", async () => {
    const sb = await shed.sandboxes.create({ ...small, network: 'nat' });
    await sb.exec(['sh', '-c', 'mkdir -p /www && echo nat >/www/index.html']);
    // Bound to every address: reached on 127.0.0.1 inside the sandbox all the same.
    await sb.spawn(['busybox', 'httpd', '-f', '-p', '8000', '-h', '/www']);
    await waitListening(sb, 8000);
    const r = await sb.ports.fetch(8000, '/index.html');
    assert.deepEqual({ status: r.status, body: await r.text() }, { status: 200, body: 'nat\n' });
    await sb.delete();
  });

  it("forks with network 'nat' each get their own address through the same set-up", async () => {
    const src = await shed.sandboxes.create({ ...small, network: 'nat' });
    const snap = await src.snapshot();
    const forks = await shed.sandboxes.fork(snap, { count: 2, network: 'nat' });
    const addresses = new Set([src, ...forks].map((s) => s.info.address));
    assert.equal(addresses.size, 3, 'three sandboxes, three addresses');
    for (const f of forks) assert.ok((await connect(f, UPLINK_ADDR, 8080)).ok, `fork ${f.id} reaches the uplink`);
    await Promise.all([src, ...forks].map((s) => s.delete()));
    await shed.snapshots.delete(snap);
    await assertClean();
  });

  it('100 sandboxes get 100 distinct addresses; deleting them leaves nothing', async () => {
    const made: Sandbox[] = [];
    const queue = Array.from({ length: 100 }, (_, i) => i);
    await Promise.all(Array.from({ length: 6 }, async () => {
      while (queue.shift() !== undefined) made.push(await shed.sandboxes.create({ ...small, network: 'nat' }));
    }));
    const addresses = new Set(made.map((s) => s.info.address));
    assert.equal(addresses.size, 100);
    assert.ok(![...addresses].includes(GATEWAY) && !addresses.has(null));
    const ids = new Set(made.map((s) => s.id));
    assert.equal(leases().filter((l) => ids.has(l.sandbox_id)).length, 100);
    const gone = [...made];
    await Promise.all(Array.from({ length: 6 }, async () => {
      for (let s = gone.shift(); s !== undefined; s = gone.shift()) await s.delete();
    }));
    await assertClean();
  });

  it('a failed create leaves no lease, veth or rule (fault after the network is attached)', async () => {
    try {
      for (const fault of ['net.after-attach=throw', 'create.after-runtime=throw']) {
        await restart('stop', { SHED_ALLOW_FAULTS: '1', SHED_FAULTS: fault });
        await assert.rejects(shed.sandboxes.create({ ...small, network: 'nat' }), (e) => e instanceof ShedApiError && e.code === 'internal');
        await assertClean();
      }
    } finally {
      await restart('stop');
    }
  });

  it('kill -9 of shedd: a nat sandbox keeps working, is adopted, and its delete cleans up', async () => {
    const sb = await shed.sandboxes.create({ ...small, network: 'nat', name: 'netsurvivor' });
    const address = sb.info.address;
    await restart('kill9');
    const again = await shed.sandboxes.get('netsurvivor');
    assert.equal(again.info.state, 'running');
    assert.equal(again.info.address, address, 'the same lease');
    assert.ok((await connect(again, UPLINK_ADDR, 8080)).ok, 'still NAT\'d out');
    assert.equal((await connect(again, DAEMON_ADDR, API_PORT)).ok, false, 'and still kept from the host');
    await again.delete();
    await assertClean(0); // the killed daemon's spares were swept; this one has made none yet
  });

  it("a create takes a spare netns (its address was a spare's) and the pool refills", async () => {
    await shed.sandboxes.create({ ...small, network: 'nat' }).then((s) => s.delete()); // a nat create fills the pool
    const before = await waitSpares(SPARES);
    const sb = await shed.sandboxes.create({ ...small, network: 'nat', egress: { deny: [`${UPLINK_ADDR}/32:8081`] } });
    assert.ok(before.some((l) => l.address === sb.info.address), `${sb.info.address ?? 'none'} is one of ${before.map((l) => l.address).join(', ')}`);
    assert.equal(leases().find((l) => l.address === sb.info.address)?.sandbox_id, sb.id, 'the lease is the sandbox\'s now');
    assert.ok((await connect(sb, UPLINK_ADDR, 8080)).ok, 'a taken spare is connected');
    assert.equal((await connect(sb, UPLINK_ADDR, 8081)).ok, false, 'and has its own policy');
    const after = await waitSpares(SPARES);
    assert.ok(after.every((l) => l.address !== sb.info.address), 'a new spare took its place');
    const links = await runIn(pair.daemonNs, ['ip', '-o', 'link', 'show', 'master', 'shed0']);
    assert.match(links, new RegExp(`: sh${sb.id.slice(3)}@`), 'its veth goes by its own name on the bridge');
    await sb.delete();
    await assertClean();
  });

  it('shedd stop removes the spares; after a kill -9 the next shedd sweeps them', async () => {
    await shed.sandboxes.create({ ...small, network: 'nat' }).then((s) => s.delete());
    await waitSpares(SPARES);
    await restart('stop');
    await assertClean(0);
    await shed.sandboxes.create({ ...small, network: 'nat' }).then((s) => s.delete());
    await waitSpares(SPARES);
    await restart('kill9');
    for (const s of await shed.sandboxes.list()) await s.delete();
    await assertClean(0);
  });

  it('kill -9 in the middle of a create: the next shedd sweeps its netns, veth, rules and lease', async () => {
    await restart('stop', { SHED_ALLOW_FAULTS: '1', SHED_FAULTS: 'create.after-runtime=kill' });
    await assert.rejects(shed.sandboxes.create({ ...small, network: 'nat' }));
    assert.ok(leases().length >= 1, 'the crash left a lease (and maybe a spare\'s, made after the connect)');
    await restart('kill9');
    assert.deepEqual((await shed.sandboxes.list()).length, 0);
    await assertClean(0);
  });
});
