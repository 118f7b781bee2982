// The container driver: sandboxes as OCI containers (crun, runc or runsc) over overlayfs, in a
// user namespace, with the shed agent injected read-only as PID 1.
import { access, constants, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentClient, AgentListener, DoctorCheck } from '@shed/protocol';
import type {
  Driver, DriverCreateSpec, DriverHandles, DriverOpOptions, DriverProbe, IdMap, Liveness, RunningSandbox, SweepRequest,
} from '../../core/driver.js';
import { ShedError } from '../../core/errors.js';
import type { SandboxNetworks } from '../../core/network.js';
import type { SandboxId } from '../../core/ids.js';
import { awaitAgent, listenForAgent } from './agent-link.js';
import { ContainerSnapshots } from './layers/container-snapshots.js';
import { createContainer, type CreateContext, type CreateStep } from './create.js';
import { removeEmptyScope, readCgroupLayout } from './cgroups.js';
import { DRIVER_NAME, isFullHandles, parseAnyContainerHandles, parseContainerHandles } from './handles.js';
import { containerChecks } from './doctor.js';
import { probeHost, type HostFacts, type RuntimeChoice } from './host-probe.js';
import { runRootOf } from './layout.js';
import { containerLiveness, workloadCount } from './liveness.js';
import { bootId } from './procfs.js';
import { OciRuntime, runLogged } from './runtime.js';
import { checkSpec } from './spec-check.js';
import { sweepOrphans } from './sweep.js';
import { sharedSpawner, type Spawner } from './spawner.js';
import { initAlive, releaseKernelState, removeSandboxDirs, targetOfBare, targetOfHandles, terminateWorkload, type TeardownTarget } from './teardown.js';

export interface ContainerDriverOptions {
  /** Which OCI runtime: `auto` picks crun when it works on this host, runc otherwise. @default 'auto' */
  runtime?: RuntimeChoice;
  /** Binary of the chosen runtime (with `runtime` other than auto). @default looked up in PATH */
  runtimePath?: string;
  /** The shed-agent binary. @default <repo>/agent/out/shed-agent */
  agentPath?: string;
  /**
   * When crun refuses hybrid cgroups because cgroup2 holds a controller, mount a v1 hierarchy
   * for it (hugetlb on Debian 12) and retry. Reported in the probe's notes. @default true
   */
  fixHybridCgroups?: boolean;
  /**
   * Remount cgroup2 with `favordynmods` (Linux 6.0+) when it lacks it: moving a process into
   * a cgroup then no longer waits for an RCU grace period (~20 ms measured here on the first
   * create after a pause), at a small cost to forks and exits. Reported in the probe's notes.
   * @default true
   */
  favorDynamicCgroups?: boolean;
  /** How long create waits for the agent's READY. @default 10000 */
  readyTimeoutMs?: number;
  /** How long adopt waits for the agent to reconnect (its backoff caps at 250 ms). @default 5000 */
  adoptTimeoutMs?: number;
  /**
   * The shed-spawn helper (packages/server/native), which starts mount and the runtime without
   * forking the daemon. Without it create falls back to Node's spawn (slower; see the probe).
   * @default <repo>/packages/server/native/out/shed-spawn
   */
  spawnHelperPath?: string;
  /** Network 'nat' (net/NatNetworks, wired by the daemon). @default none: creates with 'nat' fail */
  network?: SandboxNetworks;
  /** Test seam: runs before each create step; throwing there exercises the cleanup path. */
  beforeStep?: (step: CreateStep) => void | Promise<void>;
}

// dist/drivers/container/driver.js → the repository root is five levels up.
const DEFAULT_AGENT = fileURLToPath(new URL('../../../../../agent/out/shed-agent', import.meta.url));
// dist/drivers/container/driver.js → packages/server is three levels up.
const DEFAULT_SPAWN_HELPER = fileURLToPath(new URL('../../../native/out/shed-spawn', import.meta.url));
// Below the workload's 0 so the OOM killer prefers it to PID 1; only with CAP_SYS_RESOURCE.
const AGENT_OOM_SCORE_ADJ = -998;

type UsableFacts = CreateContext['facts'];

export class ContainerDriver implements Driver {
  readonly name = DRIVER_NAME;
  readonly #opts: ContainerDriverOptions;
  readonly #agentPath: string;
  #facts: Promise<HostFacts> | undefined;
  #spawner: Spawner | undefined;
  /** Host ends of the agent links this process holds, by sandbox. */
  readonly #links = new Map<SandboxId, { listener: AgentListener; agent: AgentClient }>();
  /** Creates in flight: while any runs, the daemon's empty cgroup scope must stay (see removeEmptyScope). */
  #creating = 0;
  readonly snapshots = new ContainerSnapshots(
    async () => (await this.#probeOnce()).runtime,
    () => this.#probeOnce().then(() => this.#spawner),
  );

  constructor(opts: ContainerDriverOptions = {}) {
    this.#opts = opts;
    this.#agentPath = opts.agentPath ?? DEFAULT_AGENT;
  }

  async probe(): Promise<DriverProbe> {
    const f = await this.#probeOnce();
    return { usable: f.runtime !== null && f.problems.length === 0, notes: [...f.notes], problems: [...f.problems] };
  }

  /** `shed doctor`'s checks of what this driver needs, from its probe and fresh looks at the host. */
  async doctorChecks(idMap: IdMap): Promise<DoctorCheck[]> {
    return containerChecks(await this.#probeOnce(), idMap);
  }

  /** The runtime in use (after probing), for reports and tests. */
  async runtimeName(): Promise<string | null> {
    return (await this.#probeOnce()).runtime?.name ?? null;
  }

  async create(spec: DriverCreateSpec, opts: DriverOpOptions = {}): Promise<RunningSandbox> {
    checkSpec(spec);
    const facts = await this.#usableFacts();
    const ctx: CreateContext = {
      facts,
      agentPath: this.#agentPath,
      readyTimeoutMs: this.#opts.readyTimeoutMs ?? 10_000,
      agentOomScoreAdj: facts.canLowerOomScore ? AGENT_OOM_SCORE_ADJ : undefined,
      beforeStep: this.#opts.beforeStep,
      spawner: this.#spawner,
      ...(this.#opts.network === undefined ? {} : { network: this.#opts.network }),
    };
    this.#creating++;
    const created = await createContainer(ctx, spec, opts).finally(() => this.#creating--);
    this.#links.set(spec.id, { listener: created.listener, agent: created.agent });
    return { handles: created.handles, agent: created.agent };
  }

  /**
   * sethostname(2) in the sandbox's UTS namespace, through `nsenter` from the host: the agent
   * runs without CAP_SYS_ADMIN (the runtime's default set), so it gets EPERM. Started through
   * the spawn helper (a fork of a small process, not of the daemon); its output goes to
   * hostname.log in the sandbox's run dir.
   */
  async setHostname(handles: DriverHandles, hostname: string, opts: DriverOpOptions = {}): Promise<void> {
    const d = parseContainerHandles(handles).data;
    // The hostname passed the create schema's pattern (it starts with a letter or digit): never an option.
    await runLogged('nsenter', [`--uts=/proc/${d.initPid}/ns/uts`, 'hostname', hostname], join(d.runDir, 'hostname.log'), opts.signal, this.#spawner);
  }

  async adopt(handles: DriverHandles, opts: DriverOpOptions = {}): Promise<RunningSandbox | null> {
    const any = parseAnyContainerHandles(handles);
    if (!isFullHandles(any) || !(await this.isAlive(any))) return null;
    await this.#closeLink(any.id);
    const d = any.data;
    const listener = await listenForAgent(dirname(d.socketPath), d.socketPath, await this.#idMapOf(d.initPid));
    try {
      const agent = await awaitAgent(listener, this.#opts.adoptTimeoutMs ?? 5_000, opts.signal);
      this.#links.set(any.id, { listener, agent });
      return { handles: any, agent };
    } catch (err) {
      await listener.close();
      throw err;
    }
  }

  async liveness(handles: DriverHandles): Promise<Liveness> {
    const any = parseAnyContainerHandles(handles);
    if (!isFullHandles(any)) return { alive: false, reason: 'its processes were gone: shedd had no record of them' };
    return containerLiveness(any.data);
  }

  async isAlive(handles: DriverHandles): Promise<boolean> {
    return (await this.liveness(handles)).alive;
  }

  async workloadProcesses(handles: DriverHandles): Promise<number> {
    const any = parseAnyContainerHandles(handles);
    return isFullHandles(any) ? workloadCount(any.data) : 0;
  }

  async pause(handles: DriverHandles): Promise<void> {
    const d = parseContainerHandles(handles).data;
    await new OciRuntime(d.runtime, d.runtimePath, d.runtimeRoot).pause(d.containerId);
  }

  async resume(handles: DriverHandles): Promise<void> {
    const d = parseContainerHandles(handles).data;
    await new OciRuntime(d.runtime, d.runtimePath, d.runtimeRoot).resume(d.containerId);
  }

  /** Accepts full handles, or bare ones ({stateDir, runDir}) when the full ones were lost. */
  async stop(handles: DriverHandles, opts: { graceMs?: number } = {}): Promise<void> {
    const t = await this.#teardownTarget(handles);
    await this.#closeLink(handles.id);
    if (t.initPid !== undefined) await terminateWorkload(t, opts.graceMs ?? 10_000);
    await releaseKernelState(t, { spawner: this.#spawner });
    await this.#opts.network?.detach(handles.id);
    await this.#dropEmptyScope(t.runDir);
  }

  /** Accepts full or bare handles, like stop. */
  async destroy(handles: DriverHandles): Promise<void> {
    const t = await this.#teardownTarget(handles);
    await this.#closeLink(handles.id);
    await releaseKernelState(t, { spawner: this.#spawner });
    await this.#opts.network?.detach(handles.id);
    await this.#dropEmptyScope(t.runDir);
    await removeSandboxDirs(t);
  }

  /** The last sandbox of this daemon's scope is gone: its empty cgroup scope dirs go too. */
  async #dropEmptyScope(runDir: string): Promise<void> {
    removeEmptyScope(await readCgroupLayout(), runRootOf(runDir), () => this.#creating === 0);
  }

  async #teardownTarget(handles: DriverHandles): Promise<TeardownTarget> {
    const any = parseAnyContainerHandles(handles);
    if (!isFullHandles(any)) return targetOfBare(any.id, any.data);
    // A dead init (host reboot) means its pid may be someone else's now: spare nothing by pid.
    // Runtime state removed behind our back: the runtime cannot delete what it no longer
    // knows; the cgroups still name the processes (releaseKernelState kills them there).
    const t = targetOfHandles(any.data);
    const runtimes = [];
    for (const r of t.runtimes) if (await r.has(t.containerId)) runtimes.push(r);
    return { ...t, runtimes, initPid: (await initAlive(any.data, await bootId())) ? t.initPid : undefined };
  }

  /**
   * Lets go of the host end of a sandbox's agent link without touching the sandbox (daemon
   * shutdown): the agent keeps running and reconnects to whoever adopts it.
   */
  async release(handles: DriverHandles): Promise<void> {
    await this.#closeLink(parseAnyContainerHandles(handles).id);
  }

  async sweep(req: SweepRequest): Promise<string[]> {
    // The network's spare netns look like sandboxes (run dir, lease, veth): this daemon's are known.
    const network = this.#opts.network;
    const knownIds = { has: (id: SandboxId): boolean => req.knownIds.has(id) || (network?.isSpare(id) ?? false) };
    const r = await sweepOrphans({ ...req, knownIds, mayRemoveScope: () => this.#creating === 0 });
    // After the containers: an orphan's netns mount went with its run dir, its veth with it.
    const net = (await network?.sweep(knownIds)) ?? [];
    return [
      ...net,
      ...r.containers.map((c) => `runtime container ${c}`),
      ...r.cgroups.map((c) => `cgroup ${c}`),
      ...r.mounts.map((m) => `mount ${m}`),
      ...r.dirs.map((d) => `directory ${d}`),
    ];
  }

  // The agent connection goes first: the listener's close waits for its connections to end.
  async #closeLink(id: SandboxId): Promise<void> {
    const link = this.#links.get(id);
    this.#links.delete(id);
    await link?.agent.close();
    await link?.listener.close();
  }

  // The id map is not in the handles: read it back from the kernel (uid_map of the init).
  async #idMapOf(pid: number): Promise<{ hostId: number; size: number }> {
    const m = /^\s*0\s+(\d+)\s+(\d+)/.exec(await readFile(`/proc/${pid}/uid_map`, 'utf8'));
    if (m === null || m[1] === undefined || m[2] === undefined) throw new ShedError('internal', `cannot read the id map of pid ${pid}`);
    return { hostId: Number(m[1]), size: Number(m[2]) };
  }

  #probeOnce(): Promise<HostFacts> {
    this.#facts ??= probeHost({
      runtime: this.#opts.runtime ?? 'auto',
      runtimePath: this.#opts.runtimePath,
      fixHybridCgroups: this.#opts.fixHybridCgroups ?? true,
      favorDynamicCgroups: this.#opts.favorDynamicCgroups ?? true,
      agentPath: this.#agentPath,
    }).then(async (f) => {
      const helper = this.#opts.spawnHelperPath ?? DEFAULT_SPAWN_HELPER;
      if (await access(helper, constants.X_OK).then(() => true, () => false)) {
        this.#spawner = sharedSpawner(helper);
        f.notes.push(`spawn helper: ${helper}`);
      } else {
        f.notes.push(`spawn helper ${helper} is missing ('make -C packages/server/native'): create forks the daemon instead, a few ms slower`);
      }
      return f;
    });
    return this.#facts;
  }

  async #usableFacts(): Promise<UsableFacts> {
    const f = await this.#probeOnce();
    const runtime = f.runtime;
    if (runtime === null || f.problems.length > 0) {
      throw new ShedError('failed_precondition', `the container driver cannot run here: ${f.problems.join('; ')}`, { details: { notes: f.notes } });
    }
    return { ...f, runtime };
  }
}

