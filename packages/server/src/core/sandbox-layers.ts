// The layer operations on sandboxes — snapshot, fork, diff, changes tar, rollback — as
// SandboxService exposes them (`service.layers`). SandboxService keeps the lock, the live
// links and the lifecycle; it hands them over as the hooks below.
import type { IdMap } from './driver.js';
import { commitSnapshot } from './commit.js';
import type { ImageInfo, ImageService } from './images.js';
import { captureChanges, diffSandbox, type ChangesWriter, type SandboxDiff } from './diff.js';
import { forkOf, type ForkHooks, type ForkOptions } from './fork.js';
import { rollbackTo } from './rollback.js';
import type { SandboxId } from './ids.js';
import type { SandboxRecord } from './sandboxes.js';
import { refuseMemorySnapshot } from './memory-snapshots.js';
import { deleteSnapshot, listSnapshots, takeSnapshot, type SnapshotContext, type SnapshotInfo, type SnapshotResult, type UpperSource } from './snapshots.js';

/**
 * What a layer operation on a running or stopped sandbox gets, under the sandbox's lock.
 * `imageRootfs` resolves the image on demand: a snapshot needs it only to flatten.
 */
export type WithUpper = <T>(ref: string, fn: (rec: SandboxRecord, src: UpperSource, imageRootfs: () => Promise<string>) => Promise<T>) => Promise<T>;

export interface SandboxLayersDeps extends ForkHooks {
  readonly ctx: SnapshotContext;
  readonly images: ImageService;
  readonly idMap: IdMap;
  /** Resolves `ref`, takes its lock, and runs `fn` on it while running (failed_precondition otherwise). */
  /**
   * Resolves `ref`, takes its lock, and runs `fn` on it while running (read through its
   * handles) or stopped (its upper on disk); failed_precondition in any other state.
   */
  readonly withUpper: WithUpper;
  /** Graceful stop and start of a sandbox whose lock the caller already holds. */
  stopLocked(id: SandboxId, reason: string): Promise<SandboxRecord>;
  startLocked(id: SandboxId): Promise<SandboxRecord>;
}

export class SandboxLayers {
  readonly #d: SandboxLayersDeps;

  constructor(deps: SandboxLayersDeps) {
    this.#d = deps;
  }

  /**
   * Captures a sandbox's filesystem as a snapshot layer: a running one keeps running (frozen
   * for the copy), a stopped one is read as it lies. `memory` is refused with `unimplemented`
   * (core/memory-snapshots.ts).
   */
  async snapshot(ref: string, opts: { signal?: AbortSignal; memory?: boolean } = {}): Promise<SnapshotResult> {
    return this.#d.withUpper(ref, async (rec, src, rootfs) => {
      if (opts.memory === true) throw await refuseMemorySnapshot(this.#d.ctx.driver);
      return takeSnapshot(this.#d.ctx, rec, src, rootfs, opts.signal === undefined ? {} : { signal: opts.signal });
    });
  }

  /** New sandboxes on a snapshot's files (cold creates), each with its own writable layer. */
  async fork(snapshot: string, opts: ForkOptions): Promise<SandboxRecord[]> {
    return forkOf(this.#d.ctx.store, snapshot, opts, this.#d);
  }

  /** Every snapshot, oldest first. */
  snapshots(): SnapshotInfo[] {
    return listSnapshots(this.#d.ctx.store);
  }

  /** Makes a snapshot an image named `name` (core/commit.ts); the image outlives the snapshot. */
  async commit(snapshot: string, name: string, opts: { signal?: AbortSignal } = {}): Promise<ImageInfo> {
    return commitSnapshot(this.#d.ctx, this.#d.images, this.#d.idMap, snapshot, name, opts);
  }

  /** Removes a snapshot; failed_precondition while sandboxes forked from it exist. */
  async deleteSnapshot(ref: string): Promise<void> {
    await deleteSnapshot(this.#d.ctx, ref);
  }

  /** What the sandbox changed over its image and snapshot chain (a running one read frozen, a stopped one from disk). */
  async diff(ref: string, opts: { signal?: AbortSignal } = {}): Promise<SandboxDiff> {
    return this.#d.withUpper(ref, async (rec, src, rootfs) => diffSandbox(this.#d.ctx, rec, src, await rootfs(), opts));
  }

  /** Captures the changes under the lock; the returned writer streams their tar without it. */
  async exportChanges(ref: string, opts: { signal?: AbortSignal } = {}): Promise<ChangesWriter> {
    return this.#d.withUpper(ref, async (rec, src, rootfs) => captureChanges(this.#d.ctx, rec, src, await rootfs(), this.#d.idMap, opts));
  }

  /**
   * Makes the sandbox's files exactly `snapshot`'s (its own, or one in its chain): a running
   * one is stopped and started again, a stopped one stays stopped.
   */
  async rollback(ref: string, snapshot: string): Promise<SandboxRecord> {
    return this.#d.withUpper(ref, (rec, src) => rollbackTo(this.#d.ctx, rec, src, snapshot, {
      stop: () => this.#d.stopLocked(rec.id, `rolling back to ${snapshot}`),
      start: () => this.#d.startLocked(rec.id),
    }));
  }
}
