// What the replenisher does next, decided from a snapshot of every pool: a pure function,
// so the policy (retire first, pools below min before pools below target, back-off after a
// failure, never past the capacity the budget allows) is unit-tested without sandboxes.
import type { SandboxId } from '../ids.js';

/** One pool as the planner sees it. */
export interface PoolView {
  readonly name: string;
  readonly min: number;
  readonly targetFree: number;
  /** Most members at once: max, and what the memory budget pays for (capacityOf). */
  readonly capacity: number;
  /** Running, unclaimed members that match the pool's spec. */
  readonly free: number;
  /** Members being made right now. */
  readonly making: number;
  /** Members to delete: dead, stale (the spec or image changed), or past capacity. */
  readonly retire: readonly SandboxId[];
  /** No create before this (ms since the epoch): the back-off after a failure. */
  readonly retryAt: number;
}

export type Step =
  | { readonly kind: 'retire'; readonly pool: string; readonly id: SandboxId }
  | { readonly kind: 'create'; readonly pool: string }
  /** Nothing to do; look again at `wakeAt` (a back-off ends) or when woken. */
  | { readonly kind: 'idle'; readonly wakeAt?: number };

export function planNext(pools: readonly PoolView[], nowMs: number): Step {
  for (const p of pools) {
    const id = p.retire[0];
    if (id !== undefined) return { kind: 'retire', pool: p.name, id };
  }
  let wakeAt: number | undefined;
  let best: { pool: PoolView; belowMin: boolean; deficit: number } | undefined;
  for (const p of pools) {
    const have = p.free + p.making;
    const goal = Math.min(p.targetFree, p.capacity);
    if (have >= goal) continue;
    if (p.retryAt > nowMs) {
      wakeAt = Math.min(wakeAt ?? p.retryAt, p.retryAt);
      continue;
    }
    const belowMin = have < Math.min(p.min, p.capacity);
    const deficit = goal - have;
    // Below-min pools first; then the pool furthest from its target; ties keep list order.
    if (best === undefined || (belowMin && !best.belowMin) || (belowMin === best.belowMin && deficit > best.deficit)) {
      best = { pool: p, belowMin, deficit };
    }
  }
  if (best !== undefined) return { kind: 'create', pool: best.pool.name };
  return wakeAt === undefined ? { kind: 'idle' } : { kind: 'idle', wakeAt };
}

/** 1 s after the first failure, doubling, at most a minute. */
export function backoffMs(failures: number): number {
  return failures <= 0 ? 0 : Math.min(60_000, 1000 * 2 ** (failures - 1));
}
