import type { NetworkMode, Resources } from './driver.js';
import type { ErrorCode } from './errors.js';
import type { EgressPolicy } from './network.js';
import type { ImageDigest, OperationId, SandboxId } from './ids.js';
import type { LayerId, LayerRepo } from './layers.js';
import type { PhaseTimings } from './phase-timer.js';
import type { PoolRepo } from './pools/pool-repo.js';
import type { SandboxState } from './state.js';

/**
 * What a sandbox is, as the user asked for it. Immutable after create: start after stop
 * reuses it unchanged.
 */
export interface SandboxSpec {
  /** The image reference as given ('default', 'debian', a digest); the digest is on the record. */
  readonly image: string;
  readonly hostname: string;
  readonly resources: Resources;
  readonly network: NetworkMode;
  /** With network 'nat': what it may reach (absent with 'none'). */
  readonly egress?: EgressPolicy;
  /** Environment of every command, on top of the image's. */
  readonly env: Readonly<Record<string, string>>;
  /** Free-form key/value tags; `list` filters on them. */
  readonly labels: Readonly<Record<string, string>>;
  /** Absolute lifetime, counted from creation (core/expiry.ts). Absent: none. */
  readonly ttlSeconds?: number;
  /** Expires after this long with no API activity and no process but PID 1. Absent: none. */
  readonly idleTimeoutSeconds?: number;
  /** What expiry does. Absent: delete when the TTL ends, stop when idle. */
  readonly onExpire?: ExpireAction;
  /**
   * A fork: the snapshot layer its filesystem starts from (the chain below it, then the image
   * rootfs, are its lowers). Kept so start after stop and adoption rebuild the same lowers.
   */
  readonly fromLayer?: LayerId;
  /** Host ports shedd listens on and forwards to the sandbox's ports. Absent: none. */
  readonly ports?: readonly PublishedPortSpec[];
}

/** `--publish HOSTIP:HOSTPORT:PORT`. */
export interface PublishedPortSpec {
  readonly hostIp: string;
  readonly hostPort: number;
  readonly port: number;
}

export type ExpireAction = 'stop' | 'delete';

/** Phase timings of the last create and the last start, in milliseconds. */
export interface SandboxTimings {
  readonly create?: PhaseTimings;
  readonly start?: PhaseTimings;
}

export interface SandboxErrorInfo {
  readonly code: ErrorCode;
  readonly message: string;
}

/** A sandbox as stored: the durable facts. What is true in the kernel lives in DriverHandles. */
export interface SandboxRecord {
  readonly id: SandboxId;
  /** Unique per host when set. */
  readonly name: string | null;
  readonly imageDigest: ImageDigest;
  readonly driver: string;
  readonly spec: SandboxSpec;
  readonly state: SandboxState;
  /** Why it is in that state, e.g. "processes vanished"; null when unremarkable. */
  readonly stateReason: string | null;
  readonly lastError: SandboxErrorInfo | null;
  readonly timings: SandboxTimings;
  /** ms since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
  /**
   * Last API activity on it (exec, spawn, files), or when it last started; null for rows
   * from before this was recorded (the idle timeout then counts from createdAt). Written at
   * most about once a second per sandbox (core/activity.ts).
   */
  readonly lastActiveAt: number | null;
  /** Its IPv4 address while it runs with network 'nat' (from its lease). Absent otherwise. */
  readonly address?: string;
  /** A free member of this warm pool: not the user's yet, hidden from `shed ls` (core/pools/). Absent: not a member. */
  readonly pool?: string;
  /** Claimed from this warm pool (its create took the warm path). Absent: created cold. */
  readonly claimedFrom?: string;
}

/** The mutable part of a record; fields left out keep their value. */
export interface SandboxPatch {
  readonly state: SandboxState;
  readonly stateReason?: string | null;
  readonly lastError?: SandboxErrorInfo | null;
  readonly timings?: SandboxTimings;
  readonly lastActiveAt?: number;
  /** Moves the sandbox onto another snapshot layer (rollback); its lowers change at the next start. */
  readonly fromLayer?: LayerId;
}

export type OperationKind = 'create' | 'delete' | 'stop' | 'start' | 'snapshot' | 'rollback';
export type OperationState = 'pending' | 'done' | 'failed' | 'rolled_back';

export interface OperationRecord {
  readonly id: OperationId;
  readonly kind: OperationKind;
  readonly sandboxId: SandboxId | null;
  readonly idempotencyKey: string | null;
  readonly state: OperationState;
  readonly request: unknown;
  readonly result: unknown;
  readonly error: SandboxErrorInfo | null;
  readonly createdAt: number;
  readonly finishedAt: number | null;
}

export interface OperationIntent {
  readonly kind: OperationKind;
  readonly sandboxId: SandboxId;
  readonly request: unknown;
  readonly idempotencyKey?: string;
}

/** Sandbox rows. Implemented in store/ on SQLite; core only sees this port. */
export interface SandboxRepo {
  /** Throws already_exists when the id or name is taken. */
  insert(rec: SandboxRecord): void;
  /** Throws not_found when the row is gone. */
  update(id: SandboxId, patch: SandboxPatch): SandboxRecord;
  get(id: SandboxId): SandboxRecord | undefined;
  getByName(name: string): SandboxRecord | undefined;
  list(): SandboxRecord[];
  remove(id: SandboxId): void;
  /** Records API activity at `atMs` (never moves it back); not a change of state, so updatedAt stays. */
  touch(id: SandboxId, atMs: number): void;
}

/** The intent log: written before acting, finished after. */
export interface OperationRepo {
  begin(intent: OperationIntent): OperationRecord;
  succeed(id: OperationId, result: unknown): void;
  fail(id: OperationId, error: SandboxErrorInfo): void;
  /** Finishes an operation a crash cut short, after undoing what it had done. */
  rollBack(id: OperationId, error: SandboxErrorInfo): void;
  findByKey(idempotencyKey: string): OperationRecord | undefined;
  /** Forgets a finished operation's idempotency key (kept in its request), so a retry with the key runs anew. */
  releaseKey(id: OperationId): void;
  pending(): OperationRecord[];
}

/** Everything core persists, plus a transaction spanning both repos. */
export interface Persistence {
  readonly sandboxes: SandboxRepo;
  readonly operations: OperationRepo;
  /** Snapshot layers; absent in stores without them (snapshot and fork then fail failed_precondition). */
  readonly layers?: LayerRepo;
  /** Warm pools; absent in stores without them (pool calls then fail failed_precondition). */
  readonly pools?: PoolRepo;
  transaction<T>(fn: () => T): T;
}
