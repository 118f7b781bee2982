import type { SandboxId } from '../ids.js';
import type { SandboxRecord, SandboxSpec, SandboxTimings } from '../sandboxes.js';
import type { PoolSpec } from './pool-spec.js';

/** A pool set through the API, as stored. Pools from the config file are never stored. */
export interface StoredPool {
  readonly spec: PoolSpec;
  /** ms since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What a claim writes on the member's row: it becomes the user's sandbox. */
export interface MemberClaim {
  readonly name: string | null;
  readonly spec: SandboxSpec;
  /** The pool it came from: the record's `claimedFrom` (its create took the warm path). */
  readonly claimedFrom: string;
  readonly timings: SandboxTimings;
  /** The sandbox's creation time becomes the claim's: TTLs count from it. */
  readonly createdAt: number;
}

/** Pools set through the API, and the pool columns of sandbox rows. store/ implements it on SQLite. */
export interface PoolRepo {
  list(): StoredPool[];
  /** Inserts or replaces; createdAt stays when replacing. */
  put(spec: PoolSpec, nowMs: number): StoredPool;
  /** False when there was none. */
  remove(name: string): boolean;
  /**
   * Turns a member into a user's sandbox in one statement: name, spec, timings, times, and
   * the pool column cleared. already_exists when the name is taken (the row is unchanged).
   */
  claimMember(id: SandboxId, claim: MemberClaim): SandboxRecord;
}
