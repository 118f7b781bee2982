// Sandbox networking in 'nat' mode: bridge, netns, veth pair, address lease, nftables rules
// and resolv.conf for each sandbox; undone in reverse on failure, removed on detach, swept
// when orphaned. Everything here lives in the kernel and survives shedd: a killed daemon's
// sandboxes keep their network, and the next one re-applies only the base (idempotently).
import { renameSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DoctorCheck } from '@shed/protocol';
import { ShedError, asShedError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import type { SandboxId } from '../core/ids.js';
import type { LeaseRepo, NetworkAttachRequest, NetworkAttachment, ProgramRunner, SandboxNetworks } from '../core/network.js';
import { DnsForwarder } from './dns-forwarder.js';
import { hasAddress, hostClaimedAddresses } from './host-claims.js';
import { networkDoctorChecks } from './doctor.js';
import { hostIfaceOf } from './names.js';
import { readNameservers, sandboxResolvConf } from './resolv.js';
import { baseRules } from './rules.js';
import { connectCommands, connectTakenCommands, detachScript, netnsScript, spareScript, type AttachScriptInput } from './scripts.js';
import { candidateAddresses, checkSettings, type NetworkSettings, type Subnet } from './settings.js';
import { SparePool, type Spare } from './spare-pool.js';
import { sweepNetwork } from './sweep.js';
import { mustRun, runBatch, runCommand, runTool } from './tools.js';

export interface NatNetworksOptions {
  readonly settings: NetworkSettings;
  readonly leases: LeaseRepo;
  /** Where sandbox run dirs are: spare netns live there too (settings.spareNetns; absent: no spares). */
  readonly runRoot?: string;
  readonly log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
/** A netns directory: traversable, like the run dir it sits in, for a runtime joining the netns. */
const NET_DIR_MODE = 0o711;

export class NatNetworks implements SandboxNetworks {
  readonly #opts: NatNetworksOptions;
  readonly #subnet: Subnet;
  #base: Promise<void> | undefined;
  #dns: DnsForwarder | undefined;
  /** Connect steps not yet waited for by their create, by sandbox: when they settle, and what follows. */
  readonly #connecting = new Map<SandboxId, { readonly settled: Promise<void>; readonly end: () => void }>();
  #runner: ProgramRunner | undefined;
  /** Spares taken by a create still under way: their veth keeps the spare's name until the connect step renames it. */
  readonly #taken = new Set<SandboxId>();
  readonly #spares: SparePool;

  constructor(opts: NatNetworksOptions) {
    this.#opts = opts;
    this.#subnet = checkSettings(opts.settings);
    this.#spares = new SparePool({
      size: opts.runRoot === undefined ? 0 : opts.settings.spareNetns,
      runRoot: opts.runRoot ?? '',
      make: (spare) => this.#makeSpare(spare),
      remove: (spare) => this.#removeSpare(spare),
      ...(opts.log === undefined ? {} : { log: opts.log }),
    });
  }

  get subnet(): Subnet {
    return this.#subnet;
  }

  /** At daemon start: when the bridge is already there (sandboxes to adopt), re-apply the base and serve DNS again. */
  async resume(): Promise<void> {
    if (await hasAddress(this.#opts.settings.bridge, this.#subnet.gateway)) await this.#ensureBase();
  }

  async attach(req: NetworkAttachRequest): Promise<NetworkAttachment> {
    await this.#ensureBase();
    // The driver's spawn helper: the refill (not part of a create) uses it too once seen.
    if (req.runner !== undefined) this.#runner = req.runner;
    const spare = this.#spares.take();
    return spare === undefined ? this.#attachNew(req) : this.#attachSpare(req, spare);
  }

  isSpare(id: SandboxId): boolean {
    return this.#spares.holds(id) || this.#taken.has(id);
  }

  /** Waits for a spare refill under way (tests). */
  async sparesSettled(): Promise<void> {
    await this.#spares.settled();
  }

  async #attachNew(req: NetworkAttachRequest): Promise<NetworkAttachment> {
    const undo: (() => Promise<void>)[] = [];
    const netDir = dirname(req.netnsPath);
    try {
      const address = await this.#lease(req.id);
      undo.push(async () => this.#opts.leases.release(req.id));
      const iface = hostIfaceOf(req.id);
      undo.push(() => this.#removeKernelState(req.id, address, iface));
      undo.push(() => removeNetDir(netDir));
      await mkdir(netDir, { recursive: true, mode: NET_DIR_MODE });
      const input = this.#scriptInput(req, address, iface);
      await Promise.all([
        this.#writeResolvConf(req.resolvConfPath),
        runBatch('setting up the sandbox network namespace', { cmd: 'sh', args: [], text: netnsScript(input) }, { runner: req.runner, dir: netDir, name: 'netns' }),
      ]);
      // The rest runs while the runtime starts the sandbox; its undo is the caller's detach.
      return this.#connect(req.id, input, runSideBySide('connecting the sandbox to the bridge', connectCommands(input), req.runner, netDir));
    } catch (err) {
      for (const u of undo.reverse()) await u().catch((e: unknown) => this.#opts.log?.warn({ sandbox: req.id, err: asShedError(e, 'undo').message }, 'undoing a network attach failed'));
      throw asShedError(err, `setting up the network of ${req.id}`);
    }
  }

  /**
   * A spare's lease goes to the sandbox (one SQLite update) and its netns directory into the
   * sandbox's run dir (one rename: the netns mount moves with it; no process). The rules and
   * the veth's rename run while the runtime starts, as for a new one.
   */
  async #attachSpare(req: NetworkAttachRequest, spare: Spare): Promise<NetworkAttachment> {
    // Synchronously after the take: the sweep leaves the spare's lease alone only while the pool holds it.
    const address = this.#opts.leases.transfer(spare.id, req.id);
    this.#taken.add(spare.id);
    const iface = hostIfaceOf(req.id);
    const netDir = dirname(req.netnsPath);
    const undo: (() => Promise<void>)[] = [async () => this.#removeSpare({ ...spare, address: address ?? spare.address })];
    let connecting: Promise<void> | undefined;
    try {
      if (address === null) throw new ShedError('internal', `spare network namespace ${spare.id} lost its address lease`);
      undo.push(async () => this.#opts.leases.release(req.id));
      undo.push(() => this.#removeKernelState(req.id, address, iface));
      undo.push(() => removeNetDir(netDir));
      // Synchronous: a rename costs microseconds, less than a round trip through libuv's thread pool.
      renameSync(dirname(spare.netnsPath), netDir);
      const input = this.#scriptInput(req, address, iface);
      // Started first: these processes are what races the runtime.
      connecting = runSideBySide('connecting the sandbox to the bridge', connectTakenCommands(input, spare.iface), req.runner, netDir).catch(async (err: unknown) => {
        // Not renamed yet, the veth is not found by the sandbox's name: the caller's detach would miss it.
        await this.#removeSpare({ ...spare, address }).catch(() => undefined);
        throw err;
      });
      connecting.catch(() => undefined); // handed to #connect below, or awaited by the undo
      await this.#writeResolvConf(req.resolvConfPath);
      // The spare's directory (empty but for its set-up files) goes after the create.
      return this.#connect(req.id, input, connecting, async () => {
        await rm(spare.dir, { recursive: true, force: true });
        this.#taken.delete(spare.id);
      });
    } catch (err) {
      await connecting?.catch(() => undefined); // its adds must not land after the removal
      for (const u of undo.reverse()) await u().catch((e: unknown) => this.#opts.log?.warn({ sandbox: req.id, err: asShedError(e, 'undo').message }, 'undoing a network attach failed'));
      this.#taken.delete(spare.id);
      throw asShedError(err, `setting up the network of ${req.id}`);
    }
  }

  #scriptInput(req: NetworkAttachRequest, address: string, iface: string): AttachScriptInput {
    return { id: req.id, netnsPath: req.netnsPath, address, iface, bridge: this.#opts.settings.bridge, subnet: this.#subnet, egress: req.egress, daemonPid: process.pid };
  }

  /**
   * Tracks the connect step of an attach. When the create has waited for it (finish) or given
   * up on it (detach), the spares refill: never while a create's runtime starts.
   */
  #connect(id: SandboxId, input: AttachScriptInput, connecting: Promise<unknown>, after?: () => Promise<void>): NetworkAttachment {
    const connected = connecting.then(() => faultPoint('net.after-attach'));
    connected.catch(() => undefined); // awaited by finish; never an unhandled rejection meanwhile
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      this.#connecting.delete(id);
      void (after?.() ?? Promise.resolve())
        .catch((err: unknown) => this.#opts.log?.warn({ sandbox: id, err: asShedError(err, 'spare netns').message }, 'removing a taken spare\'s directory failed'))
        .finally(() => this.#spares.refill());
    };
    // A detach (the create failing meanwhile) waits for it, or its adds would land after the removal.
    const settled = connected.then(() => undefined, () => undefined);
    this.#connecting.set(id, { settled, end });
    const finish = async (): Promise<void> => {
      try {
        await connected;
      } finally {
        end();
      }
    };
    return { address: input.address, hostIface: input.iface, netnsPath: input.netnsPath, finish };
  }

  /** A spare: lease, run dir and kernel state; undone on failure. */
  async #makeSpare(spare: Omit<Spare, 'address'>): Promise<string> {
    await this.#ensureBase();
    const address = await this.#lease(spare.id);
    try {
      await mkdir(spare.dir, { recursive: true, mode: 0o700 });
      await mkdir(dirname(spare.netnsPath), { mode: NET_DIR_MODE });
      const { bridge } = this.#opts.settings;
      const text = spareScript({ id: spare.id, netnsPath: spare.netnsPath, address, iface: spare.iface, bridge, subnet: this.#subnet, daemonPid: process.pid });
      await runBatch('setting up a spare network namespace', { cmd: 'sh', args: [], text }, { runner: this.#runner, dir: spare.dir, name: 'spare' });
      return address;
    } catch (err) {
      await this.#removeSpare({ ...spare, address }).catch(() => undefined);
      throw err;
    }
  }

  /** Whatever of a spare is still there: veth and bridge port, netns mount, run dir, lease (last: the sweep's handle). */
  async #removeSpare(spare: Spare): Promise<void> {
    await this.#removeKernelState(spare.id, null, spare.iface);
    await unmountNetns(spare.netnsPath);
    await rm(spare.dir, { recursive: true, force: true });
    this.#opts.leases.release(spare.id);
  }

  async detach(id: SandboxId): Promise<void> {
    const connecting = this.#connecting.get(id);
    await connecting?.settled;
    connecting?.end();
    const address = this.#opts.leases.addressOf(id);
    // No lease: attach never got past its first step, or detach already ran (the lease goes last).
    if (address === null) return;
    await this.#removeKernelState(id, address, hostIfaceOf(id));
    this.#opts.leases.release(id);
  }

  async sweep(knownIds: { has(id: SandboxId): boolean }): Promise<string[]> {
    const done: string[] = [];
    for (const l of this.#opts.leases.list()) {
      if (knownIds.has(l.id) || this.isSpare(l.id)) continue;
      await this.#removeKernelState(l.id, l.address, hostIfaceOf(l.id));
      this.#opts.leases.release(l.id);
      done.push(`address lease ${l.address} of ${l.id}`);
    }
    // Kernel state without a lease (a lease released by hand, a database restored): only when the bridge is ours to look at.
    if (!(await hasAddress(this.#opts.settings.bridge, this.#subnet.gateway))) return done;
    const unknown = (id: SandboxId): boolean => !knownIds.has(id) && !this.isSpare(id) && this.#opts.leases.addressOf(id) === null;
    return [...done, ...(await sweepNetwork(this.#opts.settings.bridge, unknown, (id, address) => this.#removeKernelState(id, address, hostIfaceOf(id))))];
  }

  async doctorChecks(): Promise<DoctorCheck[]> {
    return networkDoctorChecks(this.#opts.settings, this.#subnet);
  }

  async close(): Promise<void> {
    await this.#spares.close();
    await this.#dns?.close();
    this.#dns = undefined;
    this.#base = undefined;
  }

  async #lease(id: SandboxId): Promise<string> {
    const claimed = await hostClaimedAddresses();
    const address = this.#opts.leases.lease(id, candidateAddresses(this.#subnet, claimed));
    if (address === null) {
      throw new ShedError('resource_exhausted', `no free address left in ${this.#subnet.cidr} for a 'nat' sandbox; delete some, or configure a larger network.subnet`);
    }
    return address;
  }

  async #writeResolvConf(path: string): Promise<void> {
    const { dns, resolvConf } = this.#opts.settings;
    const text = dns ? sandboxResolvConf(this.#subnet.gateway, []) : sandboxResolvConf(null, await readNameservers(resolvConf));
    writeFileSync(path, text, { mode: 0o644 });
  }

  async #removeKernelState(id: SandboxId, address: string | null, iface: string): Promise<void> {
    await mustRun('removing the sandbox network', 'sh', ['-s'], detachScript(id, address, iface));
  }

  #ensureBase(): Promise<void> {
    this.#base ??= this.#applyBase().catch((err: unknown) => {
      this.#base = undefined; // the next create tries again
      throw err;
    });
    return this.#base;
  }

  async #applyBase(): Promise<void> {
    const { bridge, dns } = this.#opts.settings;
    const s = this.#subnet;
    if ((await readFile(IP_FORWARD, 'utf8')).trim() !== '1') {
      await writeFile(IP_FORWARD, '1');
      this.#opts.log?.info({}, 'enabled IPv4 forwarding (net.ipv4.ip_forward=1) for network "nat"');
    }
    if (!(await hasAddress(bridge, s.gateway))) {
      // -force: `link add` fails when the bridge exists without the address; the rest still runs.
      // A fixed MAC: a bridge without one takes its lowest port's, so a port joining (a spare
      // netns, made while sandboxes run) would change the gateway's MAC under their ARP caches.
      await runTool('ip', ['-force', '-batch', '-'], `link add ${bridge} type bridge\nlink set ${bridge} address ${bridgeMac(s.gateway)}\naddr replace ${s.gateway}/${s.prefix} dev ${bridge}\nlink set ${bridge} up\n`);
      if (!(await hasAddress(bridge, s.gateway))) throw new ShedError('internal', `could not set up bridge ${bridge} with ${s.gateway}/${s.prefix}; see \`ip addr show ${bridge}\``);
    }
    await mustRun('applying the base nftables rules', 'nft', ['-f', '-'], baseRules(bridge, s, dns));
    if (dns && this.#dns === undefined) {
      this.#dns = await DnsForwarder.start({ address: s.gateway, resolvConf: this.#opts.settings.resolvConf, log: this.#opts.log });
    }
  }
}

/** A locally administered unicast MAC holding the gateway address: 02:00:a:b:c:d in hex. */
export function bridgeMac(gateway: string): string {
  return ['02', '00', ...gateway.split('.').map((p) => Number(p).toString(16).padStart(2, '0'))].join(':');
}

/** A sandbox's netns directory, whatever of it exists: the netns mount, then the directory. */
async function removeNetDir(dir: string): Promise<void> {
  await unmountNetns(join(dir, 'netns'));
  await rm(dir, { recursive: true, force: true });
}

/** The netns file is a bind mount of nsfs: unmount it (the netns dies with its last process), then remove the file. */
export async function unmountNetns(path: string): Promise<void> {
  const r = await runTool('umount', [path]);
  if (r.exitCode !== 0 && !/not mounted|no mount point|No such file/.test(r.stderr)) {
    throw new ShedError('internal', `unmounting the netns at ${path}: ${r.stderr.trim()}`);
  }
  await rm(path, { force: true });
}

/** Runs commands side by side; waits for all (none left running behind a failure), then fails with the first failure. */
async function runSideBySide(what: string, commands: readonly string[][], runner: ProgramRunner | undefined, dir: string): Promise<void> {
  const results = await Promise.allSettled(commands.map((argv) => runCommand(what, argv, { runner, logPath: join(dir, 'connect.log') })));
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
