// The layer operations on sandboxes — snapshot, fork, diff, changes tar, rollback — as
// SandboxService exposes them (`service.layers`). SandboxService keeps the lock, the live
// links and the lifecycle; it hands them over as the hooks below.
import type { DriverHandles, IdMap } from './driver.js';
import { captureChanges, diffSandbox, type ChangesWriter, type SandboxDiff } from './diff.js';
import { forkOf, type ForkHooks, type ForkOptions } from './fork.js';
import { rollbackTo } from './rollback.js';
import type { SandboxId } from './ids.js';
import type { SandboxRecord } from './sandboxes.js';
import { deleteSnapshot, listSnapshots, takeSnapshot, type SnapshotContext, type SnapshotInfo, type SnapshotResult } from './snapshots.js';

/** What a layer operation on a running sandbox gets, under the sandbox's lock. */
export type WithLive = <T>(ref: string, fn: (rec: SandboxRecord, handles: DriverHandles, imageRootfs: string) => Promise<T>) => Promise<T>;

export interface SandboxLayersDeps extends ForkHooks {
  readonly ctx: SnapshotContext;
  readonly idMap: IdMap;
  /** Resolves `ref`, takes its lock, and runs `fn` on it while running (failed_precondition otherwise). */
  readonly withLive: WithLive;
  /** Graceful stop and start of a sandbox whose lock the caller already holds. */
  stopLocked(id: SandboxId, reason: string): Promise<SandboxRecord>;
  startLocked(id: SandboxId): Promise<SandboxRecord>;
}

export class SandboxLayers {
  readonly #d: SandboxLayersDeps;

  constructor(deps: SandboxLayersDeps) {
    this.#d = deps;
  }

  /** Captures a running sandbox's filesystem as a snapshot layer; the sandbox keeps running. */
  async snapshot(ref: string, opts: { signal?: AbortSignal } = {}): Promise<SnapshotResult> {
    return this.#d.withLive(ref, (rec, handles, rootfs) => takeSnapshot(this.#d.ctx, rec, handles, rootfs, opts));
  }

  /** New sandboxes on a snapshot's files (cold creates), each with its own writable layer. */
  async fork(snapshot: string, opts: ForkOptions): Promise<SandboxRecord[]> {
    return forkOf(this.#d.ctx.store, snapshot, opts, this.#d);
  }

  /** Every snapshot, oldest first. */
  snapshots(): SnapshotInfo[] {
    return listSnapshots(this.#d.ctx.store);
  }

  /** Removes a snapshot; failed_precondition while sandboxes forked from it exist. */
  async deleteSnapshot(ref: string): Promise<void> {
    await deleteSnapshot(this.#d.ctx, ref);
  }

  /** What the running sandbox changed over its image and snapshot chain (read frozen). */
  async diff(ref: string, opts: { signal?: AbortSignal } = {}): Promise<SandboxDiff> {
    return this.#d.withLive(ref, (rec, handles, rootfs) => diffSandbox(this.#d.ctx, rec, handles, rootfs, opts));
  }

  /** Captures the changes under the lock; the returned writer streams their tar without it. */
  async exportChanges(ref: string, opts: { signal?: AbortSignal } = {}): Promise<ChangesWriter> {
    return this.#d.withLive(ref, (rec, handles, rootfs) => captureChanges(this.#d.ctx, rec, handles, rootfs, this.#d.idMap, opts));
  }

  /** Stops the sandbox, makes its files exactly `snapshot`'s (its own, or one in its chain), starts it again. */
  async rollback(ref: string, snapshot: string): Promise<SandboxRecord> {
    return this.#d.withLive(ref, (rec, handles) => rollbackTo(this.#d.ctx, rec, handles, snapshot, {
      stop: () => this.#d.stopLocked(rec.id, `rolling back to ${snapshot}`),
      start: () => this.#d.startLocked(rec.id),
    }));
  }
}
