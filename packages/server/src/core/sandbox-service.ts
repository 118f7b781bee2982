import { join } from 'node:path';
import { ActivityTracker } from './activity.js';
import type { AgentPort } from './agent-port.js';
import { CleanupStack } from './cleanup.js';
import { replayCreate, undone } from './create-replay.js';
import type { Driver, DriverHandles, IdMap, RunningSandbox } from './driver.js';
import { ShedError, asShedError, notFound } from './errors.js';
import { EventBus } from './event-bus.js';
import { faultPoint } from './faults.js';
import { isSandboxId, newSandboxId, type SandboxId } from './ids.js';
import type { ImageService } from './images.js';
import type { LiveSandbox } from './live-sandbox.js';
import type { Liveness } from './liveness.js';
import { KeyedMutex } from './locks.js';
import { OperationLog } from './operation-log.js';
import { PhaseTimer, type PhaseTimings } from './phase-timer.js';
import type { PortPublishing } from './published-ports.js';
import { PoolService } from './pools/pool-service.js';
import { pruneSystem, type SystemPruneOptions, type SystemPruneResult } from './prune.js';
import { recheckSandbox } from './recheck.js';
import type { ReconcileReport } from './reconcile.js';
import { recoverAtStart } from './recover.js';
import { CreateClaims } from './create-claims.js';
import { SandboxDirs } from './sandbox-dirs.js';
import { SandboxStarter } from './sandbox-starter.js';
import { buildSpec, parseLabelFilters, type CreateSandboxCommand } from './sandbox-spec.js';
import type { Persistence, SandboxRecord, SandboxSpec } from './sandboxes.js';
import { transition } from './state.js';
import { collectLayers, collectLayersLogged, LayerScratch } from './layer-gc.js';
import { SandboxLayers } from './sandbox-layers.js';
import {
  holdLayer, releaseLayer, snapshotsOf, type SnapshotContext, type UpperSource,
} from './snapshots.js';

/** The subset of a pino logger core writes to. */
export interface ServiceLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SandboxServiceDeps {
  readonly driver: Driver;
  readonly images: ImageService;
  readonly store: Persistence;
  /** Persistent per-sandbox directories live in `<dataDir>/sandboxes/<id>`. */
  readonly dataDir: string;
  /** Transient per-sandbox files (handles.json, agent socket) live in `<runDir>/sandboxes/<id>`. */
  readonly runDir: string;
  /** Sandbox root maps to this host range; images are unpacked shifted into it. */
  readonly idMap: IdMap;
  readonly log: ServiceLog;
  /** The agent of a started sandbox. @default the driver's AgentClient */
  readonly agentOf?: (running: RunningSandbox) => AgentPort;
  /** Where lifecycle events are published. @default a bus of its own */
  readonly events?: EventBus;
  /** Listens on published host ports while a sandbox runs. @default none (ports are not published) */
  readonly publisher?: PortPublishing;
}

export interface StopOptions {
  /** SIGTERM, then SIGKILL after this long. @default 10000 */
  graceMs?: number;
  /** Recorded in state_reason. @default 'stopped on request' */
  reason?: string;
}

/**
 * Sandbox life cycle: create, start, stop, delete, and lookups. Transport-free: returns
 * values or throws ShedErrors. Each change of state holds the sandbox's lock, goes through
 * the state machine, and writes an operation intent before acting and its outcome after.
 */
export class SandboxService {
  readonly #d: SandboxServiceDeps;
  readonly #dirs: SandboxDirs;
  readonly #locks = new KeyedMutex<SandboxId>();
  readonly #live = new Map<SandboxId, LiveSandbox>();
  readonly #claims: CreateClaims;
  readonly #starter: SandboxStarter;
  readonly #ops: OperationLog;
  readonly #activity: ActivityTracker;
  /** Layer directories being written (core/layer-gc.ts). */
  readonly #layerScratch = new LayerScratch();
  /** Every change of state and operation outcome, in order (core/events.ts). */
  readonly events: EventBus;
  /** Snapshot, fork, diff, changes tar, rollback (core/sandbox-layers.ts). */
  readonly layers: SandboxLayers;
  /** Warm pools: their members, claims and the replenisher (core/pools/). */
  readonly pools: PoolService;

  constructor(deps: SandboxServiceDeps) {
    this.#d = deps;
    this.#dirs = new SandboxDirs(deps.driver.name, deps.dataDir, deps.runDir);
    this.events = deps.events ?? new EventBus();
    this.#activity = new ActivityTracker(deps.store.sandboxes);
    this.#ops = new OperationLog(deps.store, this.events);
    this.#claims = new CreateClaims((name) => deps.store.sandboxes.getByName(name) !== undefined);
    this.#starter = new SandboxStarter({ ...deps, dirs: this.#dirs, layersRoot: this.#snapshotContext().layersRoot });
    this.layers = new SandboxLayers({
      ctx: this.#snapshotContext(), images: deps.images, idMap: deps.idMap, withUpper: (ref, fn) => this.#withUpper(ref, fn),
      stopLocked: (id, reason) => this.#stopLocked(id, { reason }), startLocked: (id) => this.#startLocked(id),
      create: (cmd, id) => this.create(cmd, { id }), remove: (id) => this.delete(id), forked: (rec, layerId) => this.events.publish('forked', rec, { layerId }),
    });
    const rename = deps.driver.setHostname?.bind(deps.driver);
    this.pools = new PoolService({
      store: deps.store, log: deps.log, events: this.events,
      hooks: {
        createMember: (pool, cmd) => this.create(cmd, { poolMember: pool }),
        deleteMember: (id, reason) => this.delete(id, { reason }),
        runLocked: (id, fn) => this.#locks.run(id, fn),
        live: (id) => this.#live.get(id),
        relink: (id, live) => this.#register(id, live),
        ...(rename === undefined ? {} : { setHostname: (live, hostname) => rename(live.handles, hostname) }),
        claimName: (name) => this.#claims.claimName(name),
        releaseName: (name) => this.#claims.releaseName(name),
      },
    });
  }

  /** Sandboxes with a live agent link (running, or adopted at start). */
  get liveCount(): number {
    return this.#live.size;
  }

  /** By id (`sb-…`) or name. */
  get(ref: string): SandboxRecord {
    const rec = isSandboxId(ref) ? this.#d.store.sandboxes.get(ref) : this.#d.store.sandboxes.getByName(ref);
    if (rec === undefined) throw notFound('sandbox', ref);
    return rec;
  }

  /** Every sandbox carrying all the given `key=value` labels; free pool members only with `all`. */
  list(labelFilters: readonly string[] = [], opts: { all?: boolean } = {}): SandboxRecord[] {
    const wanted = parseLabelFilters(labelFilters);
    return this.#d.store.sandboxes.list().filter((s) => (opts.all === true || s.pool === undefined) && wanted.every(([k, v]) => s.spec.labels[k] === v));
  }

  /** Phase timings of the last buffered exec, while the sandbox runs. */
  lastExecTimings(id: SandboxId): PhaseTimings | undefined {
    return this.#live.get(id)?.lastExec;
  }

  /** The running sandbox's agent and defaults; failed_precondition when it is not running. */
  live(ref: string): { record: SandboxRecord; live: LiveSandbox } {
    const record = this.get(ref);
    const live = this.#live.get(record.id);
    if (record.state !== 'running' || live === undefined) {
      throw new ShedError('failed_precondition', `sandbox ${ref} is ${record.state}; start it first with 'shed start ${ref}'`, {
        details: { sandbox: record.id, state: record.state },
      });
    }
    // Every exec, spawn, file and process call comes through here: that is what "activity" means for the idle timeout.
    this.#activity.touch(record.id);
    return { record, live };
  }

  /**
   * A create matching a warm pool claims one of its free members (the record's claimedFrom
   * says so, and its id is the member's); otherwise, or when the pool is empty, the sandbox is
   * made cold. `opts.id`: an id chosen ahead for a cold create (a fork records its sandboxes'
   * ids before it makes them). `poolMember`: the replenisher making a member of that pool.
   */
  async create(cmd: CreateSandboxCommand, opts: { signal?: AbortSignal; id?: SandboxId; poolMember?: string } = {}): Promise<SandboxRecord> {
    if (cmd.idempotencyKey !== undefined) {
      const prior = this.#d.store.operations.findByKey(cmd.idempotencyKey);
      if (prior !== undefined && !undone(prior)) return replayCreate(prior, (id) => this.get(id));
      if (prior !== undefined) this.#d.store.operations.releaseKey(prior.id);
    }
    // Pool members publish nothing; a create that publishes ports is made cold.
    const warm = opts.poolMember === undefined && (cmd.ports ?? []).length === 0 ? await this.pools.claim(cmd) : undefined;
    if (warm !== undefined) return warm;
    const id = opts.id ?? newSandboxId();
    const { name, spec } = buildSpec(id, cmd);
    return this.#claims.run(id, name, async () => {
      const userCreateDone = opts.poolMember === undefined ? this.pools.userCreate() : undefined;
      try {
        return await this.#locks.run(id, () => this.#create(id, name, spec, cmd, opts.signal, opts.poolMember));
      } finally {
        userCreateDone?.();
      }
    });
  }

  async #create(id: SandboxId, name: string | null, spec: SandboxSpec, cmd: CreateSandboxCommand, signal?: AbortSignal, pool?: string): Promise<SandboxRecord> {
    const op = this.#ops.begin('create', id, cmd, cmd.idempotencyKey);
    faultPoint('create.after-intent');
    const timer = new PhaseTimer();
    const cleanup = new CleanupStack();
    try {
      // The driver makes the sandbox's directories (it knows their modes); core removes them on failure.
      cleanup.push('remove the sandbox directories', () => this.#dirs.remove(id));
      const image = await timer.time('image', () => this.#d.images.resolve(spec.image, { signal }));
      const running = await this.#starter.start(id, spec, image, timer, cleanup, signal);
      faultPoint('create.after-driver');
      const now = Date.now();
      const record: SandboxRecord = {
        id, name, imageDigest: image.info.digest, driver: this.#d.driver.name, spec,
        state: transition('creating', 'created'), stateReason: null, lastError: null,
        timings: { create: timer.finish() }, createdAt: now, updatedAt: now, lastActiveAt: now, ...(pool === undefined ? {} : { pool }),
      };
      this.#d.store.transaction(() => {
        this.#d.store.sandboxes.insert(record);
        if (spec.fromLayer !== undefined) holdLayer(this.#d.store, spec.fromLayer, id);
        this.#d.store.operations.succeed(op.id, { sandboxId: id });
      });
      this.#register(id, running);
      this.#d.log.info({ sandbox: id, timings: record.timings.create }, 'sandbox created');
      this.events.publish('created', record, { image: spec.image, imageDigest: record.imageDigest, timings: record.timings.create ?? {}, ...(pool === undefined ? {} : { pool }) });
      // Read back: the stored record also carries what other tables hold (the address lease).
      return this.#d.store.sandboxes.get(id) ?? record;
    } catch (err) {
      const e = asShedError(err, `create sandbox ${id}`);
      await this.#undo(cleanup, id, 'create');
      this.#d.store.operations.fail(op.id, { code: e.code, message: e.message });
      this.events.publish('create_failed', { id, name }, { error: { code: e.code, message: e.message } });
      throw e;
    }
  }

  async start(ref: string): Promise<SandboxRecord> {
    const id = this.get(ref).id;
    return this.#locks.run(id, () => this.#startLocked(id));
  }

  async #startLocked(id: SandboxId): Promise<SandboxRecord> {
    const rec = this.get(id);
    const creating = transition(rec.state, 'start');
    const op = this.#ops.begin('start', id, {});
    this.#d.store.sandboxes.update(id, { state: creating, stateReason: null });
    const timer = new PhaseTimer();
    const cleanup = new CleanupStack();
    try {
      const image = await timer.time('image', () => this.#d.images.resolve(rec.imageDigest));
      const running = await this.#starter.start(id, rec.spec, image, timer, cleanup);
      const next = this.#d.store.sandboxes.update(id, {
        state: transition(creating, 'created'), lastError: null, timings: { ...rec.timings, start: timer.finish() }, lastActiveAt: Date.now(),
      });
      this.#d.store.operations.succeed(op.id, null);
      this.#register(id, running);
      this.#d.log.info({ sandbox: id, timings: next.timings.start }, 'sandbox started');
      this.events.publish('started', next, { timings: next.timings.start ?? {} });
      return next;
    } catch (err) {
      const e = asShedError(err, `start sandbox ${id}`);
      await this.#undo(cleanup, id, 'start');
      this.#d.store.sandboxes.update(id, { state: transition(creating, 'create_failed'), lastError: { code: e.code, message: e.message } });
      this.#d.store.operations.fail(op.id, { code: e.code, message: e.message });
      this.events.publish('start_failed', rec, { error: { code: e.code, message: e.message } });
      throw e;
    }
  }

  async stop(ref: string, opts: StopOptions = {}): Promise<SandboxRecord> {
    const id = this.get(ref).id;
    return this.#locks.run(id, () => this.#stopLocked(id, opts));
  }

  async #stopLocked(id: SandboxId, opts: StopOptions): Promise<SandboxRecord> {
    const rec = this.get(id);
    const stopping = transition(rec.state, 'stop');
    const op = this.#ops.begin('stop', id, opts);
    this.#d.store.sandboxes.update(id, { state: stopping });
    try {
      faultPoint('stop.after-intent');
      await this.#d.publisher?.close(id);
      const handles = await this.#takeHandles(id);
      await this.#d.driver.stop(handles, { graceMs: opts.graceMs ?? 10_000 });
      faultPoint('stop.after-driver');
      const next = this.#d.store.sandboxes.update(id, { state: transition(stopping, 'stopped'), stateReason: opts.reason ?? 'stopped on request' });
      this.#d.store.operations.succeed(op.id, null);
      this.events.publish('stopped', next, { reason: next.stateReason ?? 'stopped on request' });
      return next;
    } catch (err) {
      throw this.#ops.failed(op, id, asShedError(err, `stop sandbox ${id}`), 'stop_failed');
    }
  }

  /** Stops the sandbox if needed and removes everything it had. `reason` shows in state_reason while it goes. */
  async delete(ref: string, opts: { reason?: string } = {}): Promise<void> {
    const id = this.get(ref).id;
    await this.#locks.run(id, async () => {
      const rec = this.#d.store.sandboxes.get(id);
      if (rec === undefined) return; // deleted by the caller ahead of us in the lock queue
      const deleting = transition(rec.state, 'delete');
      const op = this.#ops.begin('delete', id, {});
      this.#d.store.sandboxes.update(id, { state: deleting, ...(opts.reason === undefined ? {} : { stateReason: opts.reason }) });
      try {
        faultPoint('delete.after-intent');
        await this.#d.publisher?.close(id);
        await this.#d.driver.destroy(await this.#takeHandles(id));
        faultPoint('delete.after-destroy');
        await this.#dirs.remove(id);
        transition(deleting, 'deleted');
        this.#d.store.transaction(() => {
          this.#d.store.sandboxes.remove(id);
          if (rec.spec.fromLayer !== undefined) releaseLayer(this.#d.store, rec.spec.fromLayer, id);
          this.#d.store.operations.succeed(op.id, null);
        });
        this.#d.log.info({ sandbox: id }, 'sandbox deleted');
        this.events.publish('deleted', rec, {});
        if (rec.spec.fromLayer !== undefined) await collectLayersLogged(this.#snapshotContext(), this.#d.log);
      } catch (err) {
        throw this.#ops.failed(op, id, asShedError(err, `delete sandbox ${id}`), 'delete_failed');
      }
    });
  }

  /**
   * Re-links sandboxes that kept running while no daemon was up, releases and marks stopped
   * the dead ones, finishes or undoes operations a crash cut short, and sweeps orphans.
   * Called once at daemon start, before the API serves.
   */
  async reconcile(): Promise<ReconcileReport> {
    return recoverAtStart({
      driver: this.#d.driver, store: this.#d.store, log: this.#d.log, events: this.events, ...this.#dirs.roots,
      savedHandles: (id) => this.#dirs.saved(id),
      bareHandles: (id) => this.#dirs.bareHandles(id),
      attach: async (rec, running) => this.#register(rec.id, await this.#starter.relink(rec, running)),
      removeDirs: (id) => this.#dirs.remove(id),
      knownIds: this.#knownIds(),
      snapshots: this.#snapshotContext(),
      deleteSandbox: (id, reason) => this.delete(id, { reason }),
    });
  }

  async #withUpper<T>(ref: string, fn: (rec: SandboxRecord, src: UpperSource, imageRootfs: () => Promise<string>) => Promise<T>): Promise<T> {
    const id = this.get(ref).id;
    return this.#locks.run(id, async () => {
      const rec = this.get(id);
      const live = this.#live.get(id);
      const rootfs = async (): Promise<string> => (await this.#d.images.resolve(rec.imageDigest)).rootfs;
      if (rec.state === 'running' && live !== undefined) return fn(rec, { running: true, handles: live.handles }, rootfs);
      if (rec.state === 'stopped') return fn(rec, { running: false, upperDir: snapshotsOf(this.#d.driver).upperDirIn(this.#dirs.stateDirOf(id)) }, rootfs);
      throw new ShedError('failed_precondition', `sandbox ${ref} is ${rec.state}; its files can be captured when it is running or stopped`, {
        details: { sandbox: id, state: rec.state },
      });
    });
  }

  #snapshotContext(): SnapshotContext {
    return {
      driver: this.#d.driver, store: this.#d.store, layersRoot: join(this.#d.dataDir, 'layers'), events: this.events, log: this.#d.log, scratch: this.#layerScratch,
    };
  }

  /**
   * The liveness check of one sandbox that should be running (a dropped agent link, the
   * periodic check): a gone one has its kernel state released from its handles and is marked
   * stopped with why (its published host ports released); a live one whose link dropped is
   * re-linked. Holds the sandbox's lock.
   */
  async checkSandbox(id: SandboxId, foundBy: string): Promise<Liveness> {
    return this.#locks.run(id, async () => {
      const verdict = await recheckSandbox({
        ...this.#d, events: this.events, live: this.#live, savedHandles: (i) => this.#dirs.savedOrBare(i),
        relinked: async (rec, running) => this.#register(rec.id, await this.#starter.relink(rec, running)),
      }, id, foundBy);
      // A sandbox that died on its own holds no host ports, as a stopped one does not; start binds them again.
      if (!verdict.alive) await this.#d.publisher?.close(id);
      return verdict;
    });
  }

  /**
   * Sweeps what no sandbox owns (runtime state, cgroups, mounts, directories), safe while
   * creates run: the driver asks whether an id is known at each removal, and an id is known
   * from the start of its create. With `images`, also prunes images no sandbox uses.
   */
  async prune(opts: SystemPruneOptions = {}): Promise<SystemPruneResult> {
    return pruneSystem({ ...this.#d, collectLayers: () => collectLayers(this.#snapshotContext(), { orphans: true }) }, this.#dirs.roots, this.#knownIds(), opts);
  }

  /** Processes in a running sandbox besides its PID 1 (the idle timeout's other half). */
  async workloadProcesses(id: SandboxId): Promise<number> {
    const live = this.#live.get(id);
    return live === undefined ? 0 : this.#d.driver.workloadProcesses(live.handles);
  }

  /** Last API activity or start, ms since the epoch: what the idle timeout counts from. */
  lastActiveAt(rec: SandboxRecord): number {
    return this.#activity.lastActiveAt(rec);
  }

  /** Counts as API activity (the scheduler saw processes running). */
  touch(id: SandboxId): void {
    this.#activity.touch(id);
  }

  /** Detaches from every sandbox's agent. Sandboxes keep running; a new daemon adopts them. */
  async close(): Promise<void> {
    await this.pools.close();
    await this.#d.publisher?.closeAll();
    const live = [...this.#live.values()];
    this.#live.clear();
    await Promise.all(live.map(async (l) => {
      await l.close();
      await this.#d.driver.release(l.handles);
    }));
  }

  /** Makes a sandbox live and watches its agent link: a drop not caused by us is checked at once. */
  #register(id: SandboxId, live: LiveSandbox): void {
    this.#live.set(id, live);
    live.agent.signal.addEventListener('abort', () => {
      // Stop, delete and shutdown take the sandbox out of the live set before closing its link.
      if (this.#live.get(id) !== live) return;
      this.checkSandbox(id, 'found when its agent link dropped').catch((err: unknown) => {
        this.#d.log.error({ sandbox: id, err: asShedError(err, 'liveness check').message }, 'checking a sandbox whose agent link dropped failed');
      });
    }, { once: true });
  }

  /** Rows and creates in flight, looked up live (the sweep asks at each removal). */
  #knownIds(): { has(id: SandboxId): boolean } {
    return { has: (id) => this.#claims.isCreating(id) || this.#d.store.sandboxes.get(id) !== undefined };
  }

  /** The sandbox's handles, taking it out of the live set (its agent link is closed). */
  async #takeHandles(id: SandboxId): Promise<DriverHandles> {
    const live = this.#live.get(id);
    this.#live.delete(id);
    if (live !== undefined) {
      await live.close();
      return live.handles;
    }
    // Not live (stopped, or the host rebooted): the saved handles, else bare ones.
    return this.#dirs.savedOrBare(id);
  }

  /**
   * Unwinds a failed create or start. A start's stack never holds the directories' removal:
   * after a stop, the writable layer is the sandbox's content and must survive a failed start.
   */
  async #undo(cleanup: CleanupStack, id: SandboxId, what: 'create' | 'start'): Promise<void> {
    const problems = await cleanup.unwind();
    if (problems.length > 0) this.#d.log.error({ sandbox: id, problems }, `cleanup after a failed ${what} was incomplete`);
  }
}
