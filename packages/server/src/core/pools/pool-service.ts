// Warm pools in a running shedd: the pools (from the config file and the API), their free
// members, the claim that serves a matching create from them, and the replenisher that
// refills them in the background. Members are ordinary sandboxes with a pool column: they
// survive a daemon crash like any sandbox, and start-up adoption hands them back here.
import { ShedError, asShedError, errorMessage } from '../errors.js';
import type { EventSink } from '../events.js';
import type { SandboxId } from '../ids.js';
import type { LayerRepo } from '../layers.js';
import type { CreateSandboxCommand } from '../sandbox-spec.js';
import type { ServiceLog } from '../sandbox-service.js';
import type { Persistence, SandboxRecord } from '../sandboxes.js';
import { getSnapshot } from '../snapshots.js';
import { claimMember, type ClaimHooks } from './claim.js';
import { CreateGate } from './gate.js';
import type { PoolView } from './planner.js';
import type { PoolRepo } from './pool-repo.js';
import { buildPoolSpec, capacityOf, profileOf, sameProfile, type PoolCommand, type PoolProfile, type PoolSpec } from './pool-spec.js';
import { PoolState, type PoolError, type PoolOrigin } from './pool-state.js';
import { Replenisher } from './replenisher.js';

/** What the pools need from the sandbox service besides a claim's hooks. */
export interface PoolHooks extends ClaimHooks {
  /** A cold create of a member (its row carries the pool name). */
  createMember(pool: string, cmd: CreateSandboxCommand): Promise<SandboxRecord>;
  deleteMember(id: SandboxId, reason: string): Promise<void>;
}

export interface PoolServiceDeps {
  readonly store: Persistence;
  readonly log: ServiceLog;
  readonly events: EventSink;
  readonly hooks: PoolHooks;
  /** How often the replenisher looks again unprompted. @default 1000 */
  readonly tickMs?: number;
}

/** A pool as callers see it. */
export interface PoolStatus {
  readonly spec: PoolSpec;
  readonly origin: PoolOrigin;
  readonly free: number;
  readonly making: number;
  /** Members it may hold at once: max, and what the memory budget pays for. */
  readonly capacity: number;
  readonly claims: number;
  readonly failures: number;
  readonly lastError: PoolError | null;
  /** ms since the epoch: when the next member create may be tried after a failure (it may be in the past while the retry waits its turn); null while the pool is healthy. */
  readonly retryAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** Members whose pool is gone; the replenisher deletes them under this pseudo-pool name. */
const ORPHANS = '';

export class PoolService {
  readonly #d: PoolServiceDeps;
  readonly #pools = new Map<string, PoolState>();
  readonly #orphans: SandboxId[] = [];
  readonly #gate = new CreateGate();
  readonly #replenisher: Replenisher;

  constructor(deps: PoolServiceDeps) {
    this.#d = deps;
    this.#replenisher = new Replenisher({
      views: () => this.#views(),
      createMember: (pool) => this.#createMember(pool),
      retireMember: (pool, id) => this.#retireMember(pool, id),
      userCreatesIdle: () => this.#gate.idle(),
      now: () => Date.now(),
      log: (msg, obj) => deps.log.warn(obj, msg),
    }, deps.tickMs === undefined ? {} : { tickMs: deps.tickMs });
  }

  /** Marks a user's cold create in flight (the replenisher waits for it); call the result when it ends. */
  userCreate(): () => void {
    const leave = this.#gate.enter();
    return () => {
      leave();
      this.#replenisher.wake();
    };
  }

  /**
   * After reconciliation, before the API serves: config pools, then stored ones (a stored
   * pool named like a config pool is dropped — the file wins), then the adopted members.
   */
  start(configPools: readonly PoolSpec[]): void {
    const now = Date.now();
    for (const spec of configPools) this.#pools.set(spec.name, new PoolState(spec, 'config', now));
    for (const s of this.#d.store.pools?.list() ?? []) {
      if (this.#pools.has(s.spec.name)) {
        this.#d.store.pools?.remove(s.spec.name);
        this.#d.log.warn({ pool: s.spec.name }, 'a pool set through the API has the name of a pool in the config file; the config file wins and the stored one was removed');
        continue;
      }
      this.#pools.set(s.spec.name, new PoolState(s.spec, 'api', s.createdAt, s.updatedAt));
    }
    this.#syncLayerRefs();
    for (const rec of this.#d.store.sandboxes.list()) {
      if (rec.pool === undefined) continue;
      const p = this.#pools.get(rec.pool);
      if (p !== undefined && rec.state === 'running' && this.#d.hooks.live(rec.id) !== undefined && p.fits(rec.spec)) p.addFree({ id: rec.id, digest: rec.imageDigest });
      else this.#orphans.push(rec.id);
    }
    this.#replenisher.start();
  }

  list(): PoolStatus[] {
    return [...this.#pools.values()].map(statusOf);
  }

  get(name: string): PoolStatus {
    return statusOf(this.#state(name));
  }

  /** Creates or replaces an API pool; a changed source or profile retires the free members. */
  set(name: string, cmd: PoolCommand): PoolStatus {
    const repo = this.#repo();
    const existing = this.#pools.get(name);
    if (existing?.origin === 'config') throw configOwned(name);
    const spec = buildPoolSpec(name, cmd);
    if ('snapshot' in spec.source) getSnapshot(this.#d.store, spec.source.snapshot);
    const stored = this.#d.store.transaction(() => {
      if (existing !== undefined) this.#dropLayerRef(existing.spec);
      this.#holdLayerRef(spec);
      return repo.put(spec, Date.now());
    });
    if (existing === undefined) {
      this.#pools.set(name, new PoolState(spec, 'api', stored.createdAt, stored.updatedAt));
    } else {
      // Only a new source or profile makes the members stale; new counts keep them (the view trims past capacity).
      const stale = JSON.stringify(existing.spec.source) !== JSON.stringify(spec.source) || !sameProfile(existing.spec.profile, spec.profile);
      existing.spec = spec;
      existing.updatedAt = stored.updatedAt;
      if (stale) existing.retireAllFree();
      existing.succeeded();
    }
    this.#replenisher.wake();
    return this.get(name);
  }

  /** Removes an API pool and deletes its free members (and one being made) before returning. */
  async remove(name: string): Promise<void> {
    const p = this.#state(name);
    if (p.origin === 'config') throw configOwned(name);
    this.#d.store.transaction(() => {
      this.#repo().remove(name);
      this.#dropLayerRef(p.spec);
    });
    this.#pools.delete(name);
    // A member being made right now is deleted by its own create step once it sees the pool gone.
    await p.inflight?.catch(() => undefined);
    const ids = [...p.free.map((f) => f.id), ...p.retire.splice(0)];
    p.free.length = 0;
    await Promise.all(ids.map((id) => this.#deleteMember(id, `its pool ${name} was removed`)));
    this.#replenisher.wake();
  }

  /** A free member matching `cmd`, claimed; undefined when no pool has one (the caller goes cold). */
  async claim(cmd: CreateSandboxCommand): Promise<SandboxRecord | undefined> {
    const p = this.#match(cmd);
    const member = p?.free.shift();
    if (p === undefined || member === undefined) return undefined;
    const ctx = { store: this.#d.store, repo: this.#repo(), events: this.#d.events, hooks: this.#d.hooks };
    try {
      const outcome = await claimMember(ctx, p.spec.name, member.id, cmd);
      if ('record' in outcome) {
        p.claims++;
        return outcome.record;
      }
      this.#d.log.warn({ pool: p.spec.name, sandbox: member.id, err: outcome.unusable.message }, 'a pool member could not be claimed; retiring it and creating cold');
      p.retire.push(member.id);
      return undefined;
    } catch (err) {
      // The request was at fault (a bad or taken name): the member is untouched.
      if (this.#pools.get(p.spec.name) === p) p.free.unshift(member);
      else this.#orphans.push(member.id);
      throw err;
    } finally {
      this.#replenisher.wake();
    }
  }

  async close(): Promise<void> {
    await this.#replenisher.close();
  }

  #match(cmd: CreateSandboxCommand): PoolState | undefined {
    if (this.#pools.size === 0) return undefined;
    // Without a driver that renames, a member keeps its hostname (see claim.ts): one asked for is made cold.
    if (cmd.hostname !== undefined && this.#d.hooks.setHostname === undefined) return undefined;
    // Members run with the default egress policy, set when they were made: a create with its own is made cold.
    if (cmd.egress !== undefined) return undefined;
    let profile: PoolProfile;
    try {
      profile = profileOf(cmd);
    } catch {
      return undefined; // the cold create reports the bad value
    }
    for (const p of this.#pools.values()) {
      const src = p.spec.source;
      const source = 'snapshot' in src
        ? cmd.fromLayer === src.snapshot
        : cmd.fromLayer === undefined && (cmd.image === src.image || p.free[0]?.digest === cmd.image);
      if (source && p.free.length > 0 && sameProfile(p.spec.profile, profile)) return p;
    }
    return undefined;
  }

  async #createMember(name: string): Promise<void> {
    const p = this.#pools.get(name);
    if (p === undefined) return;
    const step = this.#makeOne(p, name);
    p.inflight = step;
    await step;
  }

  async #makeOne(p: PoolState, name: string): Promise<void> {
    p.making++;
    try {
      const rec = await this.#d.hooks.createMember(name, this.#memberCommand(p.spec));
      if (this.#pools.get(name) !== p || !p.fits(rec.spec)) await this.#deleteMember(rec.id, `its pool ${name} changed while it was made`);
      else p.addFree({ id: rec.id, digest: rec.imageDigest });
      p.succeeded();
    } catch (err) {
      const e = asShedError(err, `make a member of pool ${name}`);
      p.failed(e.code, e.message, Date.now());
      throw e;
    } finally {
      p.making--;
    }
  }

  async #retireMember(pool: string, id: SandboxId): Promise<void> {
    const list = pool === ORPHANS ? this.#orphans : this.#pools.get(pool)?.retire;
    const i = list?.indexOf(id) ?? -1;
    if (list !== undefined && i >= 0) list.splice(i, 1);
    await this.#deleteMember(id, pool === ORPHANS ? 'its pool no longer exists' : `retired from pool ${pool}`);
  }

  /** A failed delete is logged, not retried here: the row stays 'deleting' and the next start finishes it. */
  async #deleteMember(id: SandboxId, reason: string): Promise<void> {
    await this.#d.hooks.deleteMember(id, reason).catch((err: unknown) => {
      if (err instanceof ShedError && err.code === 'not_found') return;
      this.#d.log.error({ sandbox: id, err: errorMessage(err) }, 'deleting a pool member failed');
    });
  }

  #views(): PoolView[] {
    const isLive = (id: SandboxId): boolean => this.#d.hooks.live(id) !== undefined;
    const views = [...this.#pools.values()].map((p) => p.view(isLive));
    if (this.#orphans.length > 0) {
      views.unshift({ name: ORPHANS, min: 0, targetFree: 0, capacity: 0, free: 0, making: 0, retire: [...this.#orphans], retryAt: 0 });
    }
    return views;
  }

  #memberCommand(spec: PoolSpec): CreateSandboxCommand {
    const { network, ...resources } = spec.profile;
    if ('image' in spec.source) return { image: spec.source.image, ...resources, network };
    const layer = this.#layers()?.getLayer(spec.source.snapshot);
    if (layer === undefined) throw new ShedError('not_found', `snapshot '${spec.source.snapshot}' of pool ${spec.name} does not exist; set the pool to another snapshot or remove it`);
    return { image: layer.imageDigest, fromLayer: layer.id, ...resources, network };
  }

  /** Snapshot pools hold their layer (a 'pool' ref); refs of pools that are gone are dropped. */
  #syncLayerRefs(): void {
    const layers = this.#layers();
    if (layers === undefined) return;
    for (const l of layers.heldBy('pool')) {
      for (const r of layers.refsOf(l.id)) if (r.kind === 'pool' && !this.#pools.has(r.holder)) layers.removeRef(r);
    }
    for (const p of this.#pools.values()) {
      try {
        this.#holdLayerRef(p.spec);
      } catch (err) {
        const e = asShedError(err, `hold the snapshot of pool ${p.spec.name}`);
        p.failed(e.code, e.message, Date.now());
      }
    }
  }

  #holdLayerRef(spec: PoolSpec): void {
    const layers = this.#layers();
    if ('snapshot' in spec.source && layers !== undefined && layers.getLayer(spec.source.snapshot) !== undefined) {
      layers.addRef({ layer: spec.source.snapshot, kind: 'pool', holder: spec.name });
    }
  }

  #dropLayerRef(spec: PoolSpec): void {
    if ('snapshot' in spec.source) this.#layers()?.removeRef({ layer: spec.source.snapshot, kind: 'pool', holder: spec.name });
  }

  #layers(): LayerRepo | undefined {
    return this.#d.store.layers;
  }

  #state(name: string): PoolState {
    const p = this.#pools.get(name);
    if (p === undefined) throw new ShedError('not_found', `pool '${name}' does not exist; list them with 'shed pool ls'`, { details: { pool: name } });
    return p;
  }

  #repo(): PoolRepo {
    if (this.#d.store.pools === undefined) throw new ShedError('failed_precondition', 'this shedd keeps no pools (its store has no pool table)');
    return this.#d.store.pools;
  }
}

function configOwned(name: string): ShedError {
  return new ShedError('failed_precondition', `pool '${name}' is defined in shedd's config file; change it there and restart shedd`, {
    details: { pool: name, origin: 'config' },
  });
}

function statusOf(p: PoolState): PoolStatus {
  return {
    spec: p.spec, origin: p.origin, free: p.free.length, making: p.making, capacity: capacityOf(p.spec), claims: p.claims,
    failures: p.failures, lastError: p.lastError, retryAt: p.failures > 0 ? p.retryAt : null, createdAt: p.createdAt, updatedAt: p.updatedAt,
  };
}
