// One pool's in-memory state in a running shedd: its spec, its free members in claim order,
// and how its last member create went. Rebuilt at start from the config, the stored pools
// and the member rows (sandboxes with a pool column) that reconciliation adopted.
import { isOpenEgress } from '../network.js';
import type { ErrorCode } from '../errors.js';
import type { ImageDigest, SandboxId } from '../ids.js';
import { backoffMs, type PoolView } from './planner.js';
import type { SandboxSpec } from '../sandboxes.js';
import { capacityOf, sameProfile, type PoolSpec } from './pool-spec.js';

export type PoolOrigin = 'config' | 'api';

export interface PoolError {
  readonly code: ErrorCode;
  readonly message: string;
  /** ms since the epoch. */
  readonly at: number;
}

export interface FreeMember {
  readonly id: SandboxId;
  readonly digest: ImageDigest;
}

export class PoolState {
  spec: PoolSpec;
  readonly origin: PoolOrigin;
  readonly free: FreeMember[] = [];
  readonly retire: SandboxId[] = [];
  making = 0;
  /** The member create in flight, if any (removing the pool waits for it). */
  inflight: Promise<void> | undefined;
  failures = 0;
  retryAt = 0;
  lastError: PoolError | null = null;
  /** Claims served since this shedd started. */
  claims = 0;
  createdAt: number;
  updatedAt: number;

  constructor(spec: PoolSpec, origin: PoolOrigin, createdAt: number, updatedAt = createdAt) {
    this.spec = spec;
    this.origin = origin;
    this.createdAt = createdAt;
    this.updatedAt = updatedAt;
  }

  /** Whether a member made to `spec` serves this pool: same source, same profile (members of a 'nat' pool have the default egress policy). */
  fits(spec: Pick<SandboxSpec, 'image' | 'fromLayer' | 'resources' | 'network' | 'egress'>): boolean {
    const src = this.spec.source;
    const sourceOk = 'snapshot' in src ? spec.fromLayer === src.snapshot : spec.fromLayer === undefined && spec.image === src.image;
    return sourceOk && sameProfile(this.spec.profile, { ...spec.resources, network: spec.network }) && isOpenEgress(spec.egress);
  }

  /** Adds a new free member; older ones made from another image digest (re-pulled since) are retired. */
  addFree(m: FreeMember): void {
    for (const old of this.free.filter((f) => f.digest !== m.digest)) this.#retireFree(old.id);
    this.free.push(m);
  }

  /** Every free member goes (the spec changed, the pool is going). */
  retireAllFree(): void {
    for (const f of [...this.free]) this.#retireFree(f.id);
  }

  succeeded(): void {
    this.failures = 0;
    this.retryAt = 0;
    this.lastError = null;
  }

  failed(code: ErrorCode, message: string, nowMs: number): void {
    this.failures++;
    this.retryAt = nowMs + backoffMs(this.failures);
    this.lastError = { code, message, at: nowMs };
  }

  /** The planner's view; free members that are no longer live, and those past capacity, move to retire first. */
  view(isLive: (id: SandboxId) => boolean): PoolView {
    for (const f of this.free.filter((m) => !isLive(m.id))) this.#retireFree(f.id);
    const capacity = capacityOf(this.spec);
    while (this.free.length + this.making > capacity && this.free.length > 0) this.#retireFree(this.free[0]?.id);
    return {
      name: this.spec.name, min: this.spec.min, targetFree: this.spec.targetFree, capacity,
      free: this.free.length, making: this.making, retire: [...this.retire], retryAt: this.retryAt,
    };
  }

  #retireFree(id: SandboxId | undefined): void {
    const i = this.free.findIndex((f) => f.id === id);
    if (i < 0 || id === undefined) return;
    this.free.splice(i, 1);
    this.retire.push(id);
  }
}
