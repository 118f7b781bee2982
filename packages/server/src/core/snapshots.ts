// Snapshots and forks, on the layer machinery (core/layers.ts, Driver.snapshots): a snapshot
// captures a running sandbox's writable layer into `<layersRoot>/<layer id>` without stopping
// it; a fork is a new sandbox whose lowers are that layer's chain, then the image rootfs.
// SandboxService calls these under the sandbox's lock; they never touch its private state.
import { mkdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CopyMethod, Driver, DriverHandles, DriverSnapshots, SnapshotUpperOptions, UpperSnapshot } from './driver.js';
import { ShedError, asShedError, notFound } from './errors.js';
import type { EventSink } from './events.js';
import { faultPoint } from './faults.js';
import { collectLayers, type LayerScratch } from './layer-gc.js';
import { isSandboxId, type ImageDigest, type SandboxId } from './ids.js';
import { PhaseTimer } from './phase-timer.js';
import { isLayerId, lowersOf, needsFlatten, newLayerId, type LayerId, type LayerRecord, type LayerRepo } from './layers.js';
import type { Persistence, SandboxRecord } from './sandboxes.js';

/** A snapshot as callers see it: a layer held by a `snapshot` ref whose holder is the sandbox it was taken of. */
export interface SnapshotInfo {
  readonly layerId: LayerId;
  /** The sandbox it was taken of (it may be gone since). */
  readonly sandbox: string;
  readonly parent: LayerId | null;
  readonly imageDigest: ImageDigest;
  readonly depth: number;
  readonly bytes: number;
  readonly method: CopyMethod;
  readonly createdAt: number;
  /** Sandboxes created from it that still exist. */
  readonly forks: readonly string[];
}

export interface SnapshotResult extends SnapshotInfo {
  readonly timings: Readonly<Record<string, number>>;
}

export interface SnapshotContext {
  readonly driver: Driver;
  readonly store: Persistence;
  /** Layer directories live in `<layersRoot>/<layer id>`. */
  readonly layersRoot: string;
  readonly events: EventSink;
  /** Where a background flush that failed is reported. @default not reported */
  readonly log?: { warn(obj: object, msg: string): void };
  /** Names under layersRoot being written now: the layer GC leaves them alone. */
  readonly scratch: LayerScratch;
}

export function layerRepoOf(store: Persistence): LayerRepo {
  if (store.layers === undefined) throw new ShedError('failed_precondition', 'this shedd keeps no snapshot layers (its store has no layer table)');
  return store.layers;
}

export function snapshotsOf(driver: Driver): DriverSnapshots {
  if (driver.snapshots === undefined) {
    throw new ShedError('failed_precondition', `driver '${driver.name}' cannot take filesystem snapshots`, { details: { driver: driver.name } });
  }
  return driver.snapshots;
}

export const layerDirOf = (layersRoot: string, id: LayerId): string => join(layersRoot, id);

/**
 * Where a layer operation reads a sandbox's writable layer: a running sandbox's is read frozen
 * (through its handles); a stopped one's directly, since no process runs and nothing mounts it.
 */
export type UpperSource =
  | { readonly running: true; readonly handles: DriverHandles }
  | { readonly running: false; readonly upperDir: string };

/** Captures the sandbox's writable layer into `dest` (frozen when it runs). */
export function captureUpper(snapshots: DriverSnapshots, src: UpperSource, dest: string, opts: Pick<SnapshotUpperOptions, 'signal' | 'flush'>): Promise<UpperSnapshot> {
  return src.running ? snapshots.snapshotUpper(src.handles, dest, opts) : snapshots.captureStopped(src.upperDir, dest, opts);
}

/** The lowers of a sandbox with `spec.fromLayer` (its chain, then the image), else just the image rootfs. */
export function sandboxLowers(store: Persistence, layersRoot: string, fromLayer: LayerId | undefined, imageRootfs: string): string[] {
  if (fromLayer === undefined) return [imageRootfs];
  return lowersOf(layerRepoOf(store).chain(fromLayer), (id) => layerDirOf(layersRoot, id), imageRootfs);
}

/**
 * Captures the sandbox `rec` (running: frozen through its handles; stopped: as it lies) as a
 * new layer over its own top layer. A chain that would grow past DEFAULT_MAX_LAYER_DEPTH is flattened after the
 * capture (and the thaw): the new upper, its chain and the image rootfs merged into one
 * standalone layer, so forks of it mount a single lower.
 */
export async function takeSnapshot(
  ctx: SnapshotContext, rec: SandboxRecord, src: UpperSource, imageRootfs: () => Promise<string>, opts: { signal?: AbortSignal } = {},
): Promise<SnapshotResult> {
  const layers = layerRepoOf(ctx.store);
  const snapshots = snapshotsOf(ctx.driver);
  const parent = rec.spec.fromLayer === undefined ? null : (layers.getLayer(rec.spec.fromLayer) ?? null);
  const flatten = needsFlatten(parent);
  const layerId = newLayerId();
  const dir = layerDirOf(ctx.layersRoot, layerId);
  // Not a layer id: the start-up sweep removes it if a crash leaves it.
  const upper = flatten ? `${dir}.upper` : dir;
  const signal = opts.signal === undefined ? {} : { signal: opts.signal };
  const timer = new PhaseTimer();
  // `running` tells the next shedd, should this one die mid-capture, to thaw the sandbox.
  const op = ctx.store.operations.begin({ kind: 'snapshot', sandboxId: rec.id, request: { layerId, flatten, running: src.running } });
  const released = [ctx.scratch.claim(layerId), ctx.scratch.claim(`${layerId}.upper`)];
  try {
    // Synchronous: one mkdir on a local disk, where an async one costs a thread-pool trip.
    mkdirSync(ctx.layersRoot, { recursive: true, mode: 0o711 });
    // The flush (syncfs) runs after the row is written: see "Durability" in docs/snapshots.md.
    const shot = await captureUpper(snapshots, src, upper, { ...signal, flush: flatten ? 'none' : 'background' });
    faultPoint('snapshot.after-copy');
    let written: { bytes: number; method: CopyMethod } = shot;
    const timings: Record<string, number> = { ...shot.timings };
    if (flatten && parent !== null) {
      const t0 = Date.now();
      const chain = sandboxLowers(ctx.store, ctx.layersRoot, parent.id, await imageRootfs());
      written = await snapshots.flattenLayers([upper, ...chain], dir, signal);
      timings['flatten'] = Date.now() - t0;
      await rm(upper, { recursive: true, force: true });
    }
    const record = timer.timeSync('record', () => ctx.store.transaction(() => {
      const r = layers.putLayer({
        id: layerId, parent: flatten ? null : (parent?.id ?? null), imageDigest: rec.imageDigest, standalone: flatten,
        method: written.method, diskBytes: written.bytes, createdAt: Date.now(),
      });
      layers.addRef({ layer: layerId, kind: 'snapshot', holder: rec.id });
      ctx.store.operations.succeed(op.id, { layerId });
      return r;
    }));
    Object.assign(timings, timer.finish());
    if (!flatten) reportFlush(ctx, layerId, shot.flushed);
    ctx.events.publish('snapshot', rec, { layerId, bytes: written.bytes, method: written.method, timings });
    return { ...infoOf(record, rec.id, []), timings };
  } catch (err) {
    const e = asShedError(err, `snapshot sandbox ${rec.id}`);
    // Only this call wrote the directory (its id is new); a row never exists when we get here.
    await Promise.all([rm(dir, { recursive: true, force: true }), rm(upper, { recursive: true, force: true })]);
    ctx.store.operations.fail(op.id, { code: e.code, message: e.message });
    throw e;
  } finally {
    for (const release of released) release();
  }
}

/** A flush cut short by the layer's deletion is no failure; another one is logged (the layer stays usable). */
function reportFlush(ctx: SnapshotContext, layerId: LayerId, flushed: Promise<{ syncMs: number } | { error: unknown }>): void {
  void flushed.then((r) => {
    if ('error' in r && ctx.store.layers?.getLayer(layerId) !== undefined) {
      ctx.log?.warn({ layer: layerId, err: asShedError(r.error, 'flush').message }, 'flushing a snapshot layer to disk failed');
    }
  });
}

/** Every snapshot, oldest first. */
export function listSnapshots(store: Persistence): SnapshotInfo[] {
  const layers = layerRepoOf(store);
  return layers.heldBy('snapshot').map((l) => describe(layers, l));
}

export function getSnapshot(store: Persistence, ref: string): SnapshotInfo {
  const layers = layerRepoOf(store);
  const layer = isLayerId(ref) ? layers.getLayer(ref) : undefined;
  if (layer === undefined || !layers.refsOf(layer.id).some((r) => r.kind === 'snapshot')) throw notFound('snapshot', ref);
  return describe(layers, layer);
}

/**
 * Removes a snapshot's row and directory. failed_precondition while sandboxes forked from it
 * exist or newer snapshots sit on it: their lowers are this directory.
 */
export async function deleteSnapshot(ctx: SnapshotContext, ref: string): Promise<void> {
  const layers = layerRepoOf(ctx.store);
  const snap = getSnapshot(ctx.store, ref);
  ctx.store.transaction(() => {
    const others = layers.refsOf(snap.layerId).filter((r) => r.kind !== 'snapshot');
    if (others.length > 0 || layers.refCount(snap.layerId) > layers.refsOf(snap.layerId).length) {
      const who = others.map((r) => `${r.kind} ${r.holder}`).join(', ');
      throw new ShedError('failed_precondition', `snapshot ${snap.layerId} is still in use (${who || 'snapshots taken on top of it'}): sandboxes on it, warm pools, a fork or commit in progress, or newer snapshots; delete those first`, {
        details: { layer: snap.layerId, forks: others.map((r) => r.holder) },
      });
    }
    for (const r of layers.refsOf(snap.layerId)) layers.removeRef(r);
    layers.removeLayer(snap.layerId);
  });
  await rm(layerDirOf(ctx.layersRoot, snap.layerId), { recursive: true, force: true });
  // Whatever below it nothing else holds now (a pool's hold is dropped on its own).
  await collectLayers(ctx);
}

/**
 * At start, before any sandbox is adopted: a snapshot cut short by a crash may have left its
 * running sandbox frozen (shedd died between freeze and thaw), and a frozen agent cannot answer
 * the adoption. Its pending operation says it was running; it is thawed. The operation itself
 * is rolled back with every other pending one, and its directory removed by sweepLayers.
 */
export async function thawCutShortSnapshots(
  store: Persistence, driver: Driver, savedHandles: (id: SandboxId) => Promise<DriverHandles | null>, log: { warn(o: object, msg: string): void },
): Promise<void> {
  for (const op of store.operations.pending()) {
    const r = op.request;
    const running = typeof r === 'object' && r !== null && 'running' in r && r.running === true;
    if (op.kind !== 'snapshot' || !running || op.sandboxId === null || driver.snapshots === undefined) continue;
    const handles = await savedHandles(op.sandboxId);
    if (handles === null) continue;
    const thawed = await driver.snapshots.thawAfterCrash(handles).catch((err: unknown) => {
      log.warn({ sandbox: op.sandboxId, err: asShedError(err, 'thaw').message }, 'thawing a sandbox after a snapshot cut short failed');
      return false;
    });
    if (thawed) log.warn({ sandbox: op.sandboxId }, 'thawed a sandbox a snapshot cut short had left frozen');
  }
}

/** The holder id prefix of a fork's hold on its snapshot while its creates run. */
export const FORK_IN_FLIGHT = 'fork-in-flight:';

/**
 * At start, before the API serves: `sandbox` refs whose sandbox row is gone (a fork cut short
 * by a crash) are dropped, then layer directories without a row (a snapshot cut short) removed.
 */
export async function sweepLayers(store: Persistence, layersRoot: string): Promise<string[]> {
  const layers = store.layers;
  if (layers === undefined) return [];
  const names = await readdir(layersRoot).catch(() => []);
  for (const l of layers.heldBy('sandbox')) {
    for (const r of layers.refsOf(l.id)) {
      const gone = !isSandboxId(r.holder) || store.sandboxes.get(r.holder) === undefined;
      if (r.kind === 'sandbox' && gone) layers.removeRef(r);
    }
  }
  const orphans = names.filter((n) => !isLayerId(n) || layers.getLayer(n) === undefined).map((n) => join(layersRoot, n));
  // One that cannot be removed (a flatten's view still mounted after a crash) must not keep shedd from starting.
  const done = await Promise.allSettled(orphans.map((p) => rm(p, { recursive: true, force: true })));
  return orphans.filter((_, i) => done[i]?.status === 'fulfilled');
}

/** The layer a fork is made from: it must be a snapshot. */
export function forkSource(store: Persistence, ref: string): LayerRecord {
  const snap = getSnapshot(store, ref);
  const layer = layerRepoOf(store).getLayer(snap.layerId);
  if (layer === undefined) throw notFound('snapshot', ref);
  return layer;
}

/** Holds the fork's layer for as long as the sandbox row exists (call inside the create's transaction). */
export function holdLayer(store: Persistence, layer: LayerId, sandbox: SandboxId): void {
  layerRepoOf(store).addRef({ layer, kind: 'sandbox', holder: sandbox });
}

export function releaseLayer(store: Persistence, layer: LayerId, sandbox: SandboxId): void {
  store.layers?.removeRef({ layer, kind: 'sandbox', holder: sandbox });
}

function describe(layers: LayerRepo, l: LayerRecord): SnapshotInfo {
  const refs = layers.refsOf(l.id);
  const source = refs.find((r) => r.kind === 'snapshot')?.holder ?? '';
  // Only sandboxes: the in-flight holds of a fork or a commit are not forks.
  return infoOf(l, source, refs.filter((r) => r.kind === 'sandbox' && isSandboxId(r.holder)).map((r) => r.holder));
}

function infoOf(l: LayerRecord, sandbox: string, forks: readonly string[]): SnapshotInfo {
  return {
    layerId: l.id, sandbox, parent: l.parent, imageDigest: l.imageDigest, depth: l.depth,
    bytes: l.diskBytes, method: l.method, createdAt: l.createdAt, forks,
  };
}
