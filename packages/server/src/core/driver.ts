import type { Writable } from 'node:stream';
import type { AgentClient } from '@shed/protocol';
import type { SandboxId } from './ids.js';
import type { EgressPolicy } from './network.js';
import type { PhaseTimer } from './phase-timer.js';

/** Resource limits of one sandbox, enforced with cgroups (v2, or v1 on hybrid/legacy hosts). */
export interface Resources {
  /** Memory limit; the sandbox's processes are OOM-killed inside it, never the host's. @default 512 */
  memoryMiB: number;
  /** CPU limit in thousandths of a core (1000 = one core). @default 1000 */
  cpuMillis: number;
  /** Maximum number of processes and threads. @default 512 */
  pidsMax: number;
}

/** How sandbox ids map to host ids: sandbox id 0 is host id `hostId`, for `size` ids. */
export interface IdMap {
  hostId: number;
  size: number;
}

/** 'none': loopback only. 'nat': a veth on the host's bridge, out through NAT (core/network.ts). */
export type NetworkMode = 'none' | 'nat';

/** What a driver needs to start a sandbox. Everything here is decided by core before the driver runs. */
export interface DriverCreateSpec {
  readonly id: SandboxId;
  /** Read-only lower layers, topmost first (snapshot layers…, then the image's rootfs). */
  readonly lowerDirs: readonly string[];
  readonly hostname: string;
  readonly resources: Resources;
  readonly network: NetworkMode;
  /** With network 'nat': what it may reach. */
  readonly egress?: EgressPolicy;
  readonly idMap: IdMap;
  /**
   * A directory owned by shed for this sandbox (writable layer, work dir, runtime files). It
   * survives a daemon restart; a writable layer already in it is reused (start after stop).
   */
  readonly stateDir: string;
  /** Where transient files go (agent socket directory, runtime state): tmpfs, gone at reboot. */
  readonly runDir: string;
}

/**
 * What is currently true about a running sandbox in the kernel: pids, cgroups, mounts,
 * sockets. Never stored in SQLite; kept in memory and in a per-sandbox handles.json, and
 * enough on its own to tear the sandbox down after a daemon crash. Drivers put their own
 * fields in `data`; core treats it as opaque.
 *
 * Drivers also accept "bare" handles for teardown (stop, destroy; isAlive answers false and
 * adopt null): `data` = `{ stateDir, runDir }` of the sandbox, for when the full handles are
 * lost (crash mid-create, host reboot). Everything else is found from the id by name.
 */
export interface DriverHandles {
  readonly driver: string;
  readonly id: SandboxId;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface RunningSandbox {
  readonly handles: DriverHandles;
  /** The linked agent; it pushed READY before this value existed. */
  readonly agent: AgentClient;
}

export interface DriverOpOptions {
  signal?: AbortSignal;
  /** Phases of the operation are recorded here when given. */
  timer?: PhaseTimer;
}

export interface DriverProbe {
  /** Whether the driver can run sandboxes on this host at all. */
  readonly usable: boolean;
  /** Human-readable facts: which runtime, which cgroup mode, which quirks were handled. */
  readonly notes: readonly string[];
  /** Why it is unusable, and how to fix it, when `usable` is false. */
  readonly problems: readonly string[];
}

/** What the orphan sweep (at daemon start, on a schedule, on demand) may look at. */
export interface SweepRequest {
  /** The parent of every sandbox run dir (`DriverCreateSpec.runDir`). */
  readonly runRoot: string;
  /** The parent of every sandbox state dir (`DriverCreateSpec.stateDir`). */
  readonly stateRoot: string;
  /**
   * Sandboxes that exist, creates in flight included: anything of this driver's named for
   * another sandbox id is an orphan. Asked at each decision, not copied once, because the
   * sweep may run while sandboxes are being created (see core/locks.ts).
   */
  readonly knownIds: KnownIds;
}

/** A live view of which sandbox ids exist (a `Set` is one). */
export interface KnownIds {
  has(id: SandboxId): boolean;
}

/**
 * The one answer to "is this sandbox still there?". `gone` carries why, in words fit for a
 * user (it ends up in the sandbox's state_reason): the init was killed, the host rebooted,
 * the runtime's state was removed.
 */
export type Liveness = { readonly alive: true } | { readonly alive: false; readonly reason: string };

/**
 * One interface for every way of isolating a sandbox (containers now, VMs later). Every
 * driver passes the conformance suite in test/conformance. Each method either completes or
 * throws a ShedError and leaves nothing half-made behind.
 */
export interface Driver {
  readonly name: string;
  /** Detects what the host offers. Cheap enough to call at daemon start. */
  probe(): Promise<DriverProbe>;
  /** Starts a sandbox and resolves once its agent is linked (the agent's READY push). */
  create(spec: DriverCreateSpec, opts?: DriverOpOptions): Promise<RunningSandbox>;
  /** Re-links a sandbox still running after the host process restarted; null when it is dead. */
  adopt(handles: DriverHandles, opts?: DriverOpOptions): Promise<RunningSandbox | null>;
  /**
   * The one liveness check (core/liveness.ts wraps it): are this sandbox's processes and
   * the state needed to manage them still there? Cheap (no process spawned): the daemon
   * calls it for every running sandbox on a schedule and whenever an agent link drops.
   */
  liveness(handles: DriverHandles): Promise<Liveness>;
  /** `(await liveness(handles)).alive`, for tests and callers that need no reason. */
  isAlive(handles: DriverHandles): Promise<boolean>;
  /**
   * How many processes run in the sandbox besides its PID 1 (the agent): the idle timeout
   * counts a sandbox with any as busy. 0 when it is not running.
   */
  workloadProcesses(handles: DriverHandles): Promise<number>;
  /** Freezes every process (cgroup freezer). */
  pause(handles: DriverHandles): Promise<void>;
  resume(handles: DriverHandles): Promise<void>;
  /**
   * Stops the processes (SIGTERM, then SIGKILL after `graceMs`) and releases kernel state
   * (mounts, cgroups, runtime state), keeping the writable layer for a later start.
   */
  stop(handles: DriverHandles, opts?: { graceMs?: number }): Promise<void>;
  /** Stop, then remove everything including the writable layer. Idempotent. */
  destroy(handles: DriverHandles): Promise<void>;
  /**
   * Lets go of this process's link to a running sandbox without touching it (daemon shutdown):
   * the sandbox keeps running and a later `adopt` re-links it.
   */
  release(handles: DriverHandles): Promise<void>;
  /**
   * Removes what this driver made for sandboxes that no longer exist (a crash between
   * steps, a row deleted by hand): runtime state, cgroups, mounts, directories. Looks only
   * under the given roots and this daemon's own scope. Returns what it removed, for the log.
   */
  sweep(req: SweepRequest): Promise<string[]>;
  /** Filesystem snapshots (layers); absent when the driver cannot take them. */
  readonly snapshots?: DriverSnapshots;
  /**
   * Renames a running sandbox's hostname from the host: a warm pool claim gives a member its
   * new identity this way, since the agent may not call sethostname(2) itself. Absent: the
   * driver cannot, and a claim keeps the member's hostname (its id).
   */
  setHostname?(handles: DriverHandles, hostname: string, opts?: DriverOpOptions): Promise<void>;
}

/** How a layer's file data was captured: shared extents (FICLONE, no data copied) or copied. */
export type CopyMethod = 'reflink' | 'copy';

export interface SnapshotUpperOptions {
  signal?: AbortSignal;
  /**
   * Longest the sandbox stays frozen: past it the capture is abandoned (its partial layer
   * removed), the sandbox thawed, and the call fails with `unavailable`. @default 10000
   */
  maxFrozenMs?: number;
  /**
   * When the new layer is flushed to disk (syncfs, for durability against a host crash):
   * `wait` before returning; `background` after returning, off a fork's critical path
   * (`UpperSnapshot.flushed` settles then); `none` for a scratch copy removed after use.
   * @default 'wait'
   */
  flush?: 'wait' | 'background' | 'none';
}

/** A layer written to disk: its allocated size and how its data got there. */
export interface LayerWrite {
  /** Allocated bytes (st_blocks × 512) of the new layer: sparse files count what they use. */
  readonly bytes: number;
  readonly method: CopyMethod;
}

export interface UpperSnapshot extends LayerWrite {
  /**
   * Milliseconds spent in each phase (freeze, copy, thaw, then `size`: counting the layer's
   * blocks) and `frozen`, their frozen span; `sync` when the flush was waited for; `prepass`
   * when a big upper was first copied unfrozen (its `copy` is then the frozen catch-up).
   */
  readonly timings: Readonly<Record<'freeze' | 'copy' | 'thaw' | 'frozen' | 'size', number> & { sync?: number; prepass?: number }>;
  /** Settles when the layer is flushed (at once unless `flush` was `background`); never rejects. */
  readonly flushed: Promise<{ syncMs: number } | { error: unknown }>;
}

/** Whether an optional capability works on this host, and why not when it does not. */
export interface CapabilityProbe {
  readonly available: boolean;
  /** What was found (a version) when available; what failed and how to fix it otherwise. */
  readonly reason: string;
}

/** One path that differs between a layer and the lowers under it. */
export interface LayerChange {
  /** Absolute path inside the sandbox ('/etc/hosts'). */
  readonly path: string;
  readonly kind: 'added' | 'modified' | 'deleted';
  /** For `modified`: what differs. */
  readonly what?: readonly ('type' | 'content' | 'mode' | 'owner' | 'target')[];
  /** For a directory: it hides everything below it in the lowers (opaque). */
  readonly opaque?: boolean;
}

/**
 * Snapshots as layers: a sandbox's writable layer captured read-only, so a new sandbox can
 * take it as a lower ([snapshot layers…, image rootfs], topmost first, as DriverCreateSpec).
 * Layer directories are named by the caller (core, from the layer store) and never changed
 * after they are written.
 */
export interface DriverSnapshots {
  /**
   * Freezes the sandbox, captures its writable layer into `destDir` (which must not exist),
   * and thaws it — always, also when the capture fails or runs past `maxFrozenMs`.
   */
  snapshotUpper(handles: DriverHandles, destDir: string, opts?: SnapshotUpperOptions): Promise<UpperSnapshot>;
  /** The sandbox's writable layer. */
  upperDirOf(handles: DriverHandles): string;
  /** The writable layer of a sandbox that is not running, from its state dir alone. */
  upperDirIn(stateDir: string): string;
  /**
   * Captures the writable layer of a stopped sandbox (nothing runs or writes in it) into
   * `destDir` as snapshotUpper does, without freezing anything (timings: freeze, thaw, frozen 0).
   */
  captureStopped(upperDir: string, destDir: string, opts?: Pick<SnapshotUpperOptions, 'signal' | 'flush'>): Promise<UpperSnapshot>;
  /**
   * At start: thaws a sandbox that a crashed shedd left frozen in the middle of a capture.
   * Returns whether it was frozen.
   */
  thawAfterCrash(handles: DriverHandles): Promise<boolean>;
  /** Removes a layer (or scratch) directory; returns the allocated bytes it freed (0 when missing). */
  discardLayer(dir: string, opts?: { signal?: AbortSignal }): Promise<number>;
  /**
   * What a running sandbox changed over `lowers` (its spec's lowerDirs), read while it is
   * frozen for at most `maxFrozenMs` (default 10000).
   */
  diffUpper(handles: DriverHandles, lowers: readonly string[], opts?: { signal?: AbortSignal; maxFrozenMs?: number }): Promise<LayerChange[]>;
  /** Merges a chain of layers (topmost first) into one new layer at `destDir`. */
  flattenLayers(layers: readonly string[], destDir: string, opts?: { signal?: AbortSignal }): Promise<LayerWrite>;
  /** What `layerDir` changes over `lowers` (topmost first), sorted by path. */
  diffLayer(layerDir: string, lowers: readonly string[], opts?: { signal?: AbortSignal }): Promise<LayerChange[]>;
  /**
   * Writes what `layerDir` changes over `lowers` to `out` as an OCI layer tar (whiteout files
   * for deletions, owners shifted back by `idMap`); returns the changes it wrote.
   */
  exportChanges(layerDir: string, lowers: readonly string[], out: Writable, opts?: { idMap?: IdMap; signal?: AbortSignal }): Promise<LayerChange[]>;
  /** Memory snapshots (checkpoint/restore of processes). */
  probeMemorySnapshots(): Promise<CapabilityProbe>;
}
