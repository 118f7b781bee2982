// Creating one container sandbox: independent steps in parallel (overlay mount ∥ agent socket
// ∥ config.json ∥ network), then the runtime, then the agent's READY. Each step pushes its undo onto a
// LIFO stack, so a failure or an abort at any point leaves nothing behind.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rm, writeFile } from 'node:fs/promises';
import type { AgentClient, AgentListener } from '@shed/protocol';
import type { DriverCreateSpec, DriverOpOptions } from '../../core/driver.js';
import { OPEN_EGRESS, type NetworkAttachment, type SandboxNetworks } from '../../core/network.js';
import { asShedError, ShedError } from '../../core/errors.js';
import type { PhaseTimer } from '../../core/phase-timer.js';
import { CleanupStack } from '../cleanup-stack.js';
import { awaitAgent, listenForAgent } from './agent-link.js';
import { cgroupDirsFromProcText } from './cgroups.js';
import { DRIVER_NAME, type ContainerHandles } from './handles.js';
import type { HostFacts } from './host-probe.js';
import { sandboxLayout, type SandboxLayout } from './layout.js';
import { buildOciConfig } from './oci-config.js';
import { mountOverlay, prepareOverlayDirs, removePreparedDirs, unmount } from './overlay.js';
import { bootIdSync, readProcStatSync } from './procfs.js';
import { OciRuntime } from './runtime.js';
import { releaseKernelState, targetOfBare } from './teardown.js';
import type { Spawner } from './spawner.js';
import { checkAncestorsTraversable, makeTraversableSync } from './traverse.js';

/** The steps of create, in order; `beforeStep` hooks see these names. */
export const CREATE_STEPS = ['dirs', 'overlay', 'listen', 'config', 'network', 'runtime', 'ready', 'connect', 'handles'] as const;
export type CreateStep = (typeof CREATE_STEPS)[number];

export interface CreateContext {
  readonly facts: HostFacts & { readonly runtime: NonNullable<HostFacts['runtime']> };
  readonly agentPath: string;
  readonly readyTimeoutMs: number;
  readonly agentOomScoreAdj: number | undefined;
  readonly beforeStep?: (step: CreateStep) => void | Promise<void>;
  /** Starts mount and the runtime faster than Node's spawn, when the helper is built. */
  readonly spawner?: Spawner;
  /** Sets up network 'nat' (net/, wired by the daemon); absent: 'nat' is refused. */
  readonly network?: SandboxNetworks;
}

export interface Created {
  readonly handles: ContainerHandles;
  readonly agent: AgentClient;
  readonly listener: AgentListener;
}

export async function createContainer(ctx: CreateContext, spec: DriverCreateSpec, opts: DriverOpOptions = {}): Promise<Created> {
  const layout = sandboxLayout(spec, ctx.facts.runtime.name);
  const runtime = new OciRuntime(ctx.facts.runtime.name, ctx.facts.runtime.path, layout.runtimeRoot);
  const stack = new CleanupStack();
  const run = new StepRunner(ctx, opts, stack);
  try {
    await run.step('dirs', async () => makeDirs(spec, layout, stack));
    const [, listener, , net] = await run.parallel(
      () => run.step('overlay', () => mountRootfs(ctx, spec, layout, stack, opts.signal)),
      () => run.step('listen', () => openSocket(spec, layout, stack)),
      () => run.step('config', () => writeConfig(ctx, spec, layout)),
      () => run.step('network', () => attachNetwork(ctx, spec, layout, stack, opts.signal)),
    );
    const ready = new AbortController();
    const agentP = awaitAgent(listener, ctx.readyTimeoutMs, anySignal(ready.signal, opts.signal));
    agentP.catch(() => undefined); // observed below; never an unhandled rejection
    try {
      await run.step('runtime', async () => {
        // Found by name on undo: whatever the runtime got to (state, cgroups, processes) goes.
        stack.push('runtime container', async () =>
          releaseKernelState(await targetOfBare(spec.id, { stateDir: spec.stateDir, runDir: spec.runDir }), { spawner: ctx.spawner }));
        // No abort signal here: a runtime killed half way leaves its child in the cgroups it
        // was setting up. It runs to the end (tens of ms), then the step sees the abort.
        await runtime.start(layout.containerId, layout.bundleDir, layout.pidFile, { logPath: layout.logPath, spawner: ctx.spawner });
      });
    } catch (err) {
      ready.abort(err);
      throw err;
    }
    const agent = await run.step('ready', async () => {
      const a = await agentP;
      stack.push('agent connection', () => a.close());
      return a;
    });
    recordAgentTimings(opts.timer, agent);
    // Network 'nat': the bridge port and rules went on while the runtime started ('none': nothing to wait for).
    await run.step('connect', async () => net?.finish());
    const handles = await run.step('handles', async () => collectHandles(ctx, spec, layout, runtime, net));
    stack.release();
    return { handles, agent, listener };
  } catch (err) {
    const failures = await stack.unwind();
    throw withUndoFailures(err, failures);
  }
}

/**
 * Run dir, state dir and overlay dirs, synchronously (see prepareOverlayDirs). 0711 on the run
 * and state dirs: the runtime sets up mounts as the mapped root, an unprivileged host uid,
 * which must traverse to the rootfs and the bind sources.
 */
function makeDirs(spec: DriverCreateSpec, layout: SandboxLayout, stack: CleanupStack): void {
  // Before any undo exists: unwinding a second create of a live sandbox would tear it down.
  if (existsSync(join(layout.runtimeRoot, layout.containerId))) {
    throw new ShedError('already_exists', `sandbox ${spec.id} is already running (${layout.containerId} exists); stop it before starting it again`);
  }
  checkAncestorsTraversable(spec.runDir);
  checkAncestorsTraversable(spec.stateDir);
  mkdirSync(spec.runDir, { recursive: true, mode: 0o711 });
  stack.push('run dir', () => rm(spec.runDir, { recursive: true, force: true }));
  makeTraversableSync(spec.runDir);
  mkdirSync(layout.runtimeRoot, { recursive: true, mode: 0o700 });
  const made = prepareOverlayDirs(spec.stateDir, layout.overlay, spec.idMap);
  stack.push('overlay dirs', () => removePreparedDirs(spec.stateDir, layout.overlay, made));
}

async function mountRootfs(ctx: CreateContext, spec: DriverCreateSpec, layout: SandboxLayout, stack: CleanupStack, signal?: AbortSignal): Promise<void> {
  stack.push('overlay mount', () => unmount(layout.overlay.target));
  await mountOverlay(spec.lowerDirs, layout.overlay, { signal, spawner: ctx.spawner, logPath: layout.logPath });
}

async function openSocket(spec: DriverCreateSpec, layout: SandboxLayout, stack: CleanupStack): Promise<AgentListener> {
  const listener = await listenForAgent(layout.socketDir, layout.socketPath, spec.idMap);
  stack.push('agent listener', () => listener.close());
  return listener;
}

/** Network 'nat': netns, veth, lease, rules, resolv.conf (the paths are fixed, so config.json is written meanwhile). */
async function attachNetwork(
  ctx: CreateContext, spec: DriverCreateSpec, layout: SandboxLayout, stack: CleanupStack, signal?: AbortSignal,
): Promise<NetworkAttachment | null> {
  if (spec.network !== 'nat') return null;
  const network = ctx.network;
  if (network === undefined) throw new ShedError('failed_precondition', "network 'nat' is not set up in this shedd; use network 'none'");
  // Pushed first: detach removes whatever attach got to, and attach undoes its own part on failure.
  stack.push('network', () => network.detach(spec.id));
  return network.attach({
    id: spec.id, netnsPath: layout.netnsPath, resolvConfPath: layout.resolvConfPath, egress: spec.egress ?? OPEN_EGRESS,
    ...(ctx.spawner === undefined ? {} : { runner: ctx.spawner }), ...(signal === undefined ? {} : { signal }),
  });
}

async function writeConfig(ctx: CreateContext, spec: DriverCreateSpec, layout: SandboxLayout): Promise<void> {
  const config = buildOciConfig({
    spec,
    rootfs: layout.overlay.target,
    agentPath: ctx.agentPath,
    socketDir: layout.socketDir,
    cgroupsPath: layout.cgroupsPath,
    nofileHard: ctx.facts.nofileHard,
    swapAccounting: ctx.facts.swapAccounting,
    agentOomScoreAdj: ctx.agentOomScoreAdj,
    ...(spec.network === 'nat' ? { network: { netnsPath: layout.netnsPath, resolvConfPath: layout.resolvConfPath } } : {}),
  });
  // Lives in the run dir, removed with it by the 'run dir' undo.
  await writeFile(layout.configPath, JSON.stringify(config));
}

/** Synchronous /proc reads (no disk behind them): microseconds, at the tail of the critical path. */
function collectHandles(
  ctx: CreateContext, spec: DriverCreateSpec, layout: SandboxLayout, runtime: OciRuntime, net: NetworkAttachment | null,
): ContainerHandles {
  const initPid = Number(readFileSync(layout.pidFile, 'utf8').trim());
  const stat = Number.isSafeInteger(initPid) && initPid > 0 ? readProcStatSync(initPid) : null;
  if (stat === null) {
    throw new ShedError('unavailable', `the sandbox's init (pid ${initPid}) exited right after start; see ${layout.logPath}`);
  }
  const cgroupDirs = cgroupDirsFromProcText(readFileSync(`/proc/${initPid}/cgroup`, 'utf8'), ctx.facts.layout);
  return {
    driver: DRIVER_NAME,
    id: spec.id,
    data: {
      runtime: runtime.name,
      runtimePath: runtime.path,
      runtimeRoot: runtime.root,
      containerId: layout.containerId,
      initPid,
      initStartTime: stat.startTime,
      bootId: bootIdSync(),
      cgroupDirs,
      mounts: [layout.overlay.target],
      socketPath: layout.socketPath,
      stateDir: spec.stateDir,
      runDir: spec.runDir,
      ...(net === null ? {} : { network: { address: net.address, hostIface: net.hostIface, netnsPath: net.netnsPath } }),
    },
  };
}

function recordAgentTimings(timer: PhaseTimer | undefined, agent: AgentClient): void {
  for (const [name, us] of Object.entries(agent.ready.timingsUs)) timer?.record(`agent.${name}`, us / 1000);
}

class StepRunner {
  constructor(
    private readonly ctx: CreateContext,
    private readonly opts: DriverOpOptions,
    private readonly stack: CleanupStack,
  ) {}

  async step<T>(name: CreateStep, fn: () => Promise<T>): Promise<T> {
    this.opts.signal?.throwIfAborted();
    await this.ctx.beforeStep?.(name);
    this.opts.signal?.throwIfAborted();
    const timed = this.opts.timer === undefined ? fn() : this.opts.timer.time(`driver.${name}`, fn);
    const result = await timed;
    this.opts.signal?.throwIfAborted();
    return result;
  }

  /** Runs independent steps together; waits for all (each pushed its own undo) before failing. */
  async parallel<T extends unknown[]>(...steps: { [K in keyof T]: () => Promise<T[K]> }): Promise<T> {
    const results = await Promise.allSettled(steps.map((s) => s()));
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    // All fulfilled (checked just above); the tuple order is the argument order.
    return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
  }

  get size(): number {
    return this.stack.size;
  }
}

function anySignal(a: AbortSignal, b: AbortSignal | undefined): AbortSignal {
  return b === undefined ? a : AbortSignal.any([a, b]);
}

function withUndoFailures(err: unknown, failures: ShedError[]): ShedError {
  const e = asShedError(err, 'creating the sandbox failed');
  if (failures.length === 0) return e;
  return new ShedError(e.code, `${e.message} (and cleaning up failed: ${failures.map((f) => f.message).join('; ')})`, {
    cause: e,
    details: { ...e.details, cleanupFailures: failures.map((f) => f.message) },
  });
}
