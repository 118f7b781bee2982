// Rollback: a sandbox's files become exactly a snapshot's. The sandbox is stopped, its writable
// layer set aside, and the snapshot made its top lower (spec.fromLayer, with a `sandbox` ref on
// it, as a fork has); the next start mounts a fresh, empty upper over the snapshot's chain.
//
// Why a lower, not a copy of the snapshot into the upper: a snapshot layer is a diff over the
// lowers it was taken on. It is exact as an upper only over those same lowers — not for a
// layer deeper in the sandbox's chain (the layers above it would still show) nor for a
// flattened layer (a whole rootfs without whiteouts: files the image has would come back).
// As the top lower it is exact in every case, nothing is copied, and the `sandbox` ref keeps
// the layer from being deleted while the sandbox sits on it — the cost: that snapshot cannot
// be deleted until the sandbox is, and later snapshots of the sandbox stack one layer deeper
// (the flatten rule bounds the depth).
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { ShedError, asShedError } from './errors.js';
import { faultPoint } from './faults.js';
import { collectLayers } from './layer-gc.js';
import type { LayerRecord } from './layers.js';
import type { OperationRecord, SandboxRecord } from './sandboxes.js';
import { getSnapshot, layerRepoOf, snapshotsOf, type SnapshotContext, type UpperSource } from './snapshots.js';

/** What rollback needs from the sandbox service; both run under the lock the caller holds. */
export interface RollbackHooks {
  /** Graceful stop. */
  stop(): Promise<SandboxRecord>;
  start(): Promise<SandboxRecord>;
}

/** The layer `rec` may roll back to: a snapshot taken of it, or one in its own chain. */
export function rollbackTarget(ctx: SnapshotContext, rec: SandboxRecord, ref: string): LayerRecord {
  const snap = getSnapshot(ctx.store, ref);
  const layers = layerRepoOf(ctx.store);
  const inChain = rec.spec.fromLayer !== undefined && layers.chain(rec.spec.fromLayer).some((l) => l.id === snap.layerId);
  const layer = layers.getLayer(snap.layerId);
  if (layer === undefined || (snap.sandbox !== rec.id && !inChain) || layer.imageDigest !== rec.imageDigest) {
    throw new ShedError('failed_precondition', `snapshot ${snap.layerId} was not taken of sandbox ${rec.id} nor is it one its files come from; roll back only to its own snapshots`, {
      details: { sandbox: rec.id, snapshot: snap.layerId, takenOf: snap.sandbox },
    });
  }
  return layer;
}

/**
 * Rolls the sandbox `rec` back to `snapshot`: a running one is stopped first and started
 * after; a stopped one stays stopped (its next start mounts a fresh upper over the snapshot).
 * A crash after the upper is set aside and before the row is written leaves the operation
 * pending: restoreCutShortRollback, at the next start, puts the upper back.
 */
export async function rollbackTo(ctx: SnapshotContext, rec: SandboxRecord, src: UpperSource, snapshot: string, hooks: RollbackHooks): Promise<SandboxRecord> {
  const target = rollbackTarget(ctx, rec, snapshot);
  const upperDir = src.running ? snapshotsOf(ctx.driver).upperDirOf(src.handles) : src.upperDir;
  const op = ctx.store.operations.begin({ kind: 'rollback', sandboxId: rec.id, request: { snapshot: target.id, from: rec.spec.fromLayer ?? null, upper: upperDir } });
  const aside = asideOf(upperDir);
  let setAside = false;
  try {
    const stopped = src.running ? await hooks.stop() : rec;
    await rm(aside, { recursive: true, force: true });
    // A stopped sandbox rolled back before and not started since has no upper: nothing to set aside.
    if (src.running || existsSync(upperDir)) {
      await rename(upperDir, aside);
      setAside = true;
    }
    faultPoint('rollback.after-aside');
    ctx.store.transaction(() => {
      const layers = layerRepoOf(ctx.store);
      layers.addRef({ layer: target.id, kind: 'sandbox', holder: rec.id });
      if (rec.spec.fromLayer !== undefined && rec.spec.fromLayer !== target.id) layers.removeRef({ layer: rec.spec.fromLayer, kind: 'sandbox', holder: rec.id });
      ctx.store.sandboxes.update(rec.id, { state: stopped.state, stateReason: `rolled back to ${target.id}`, fromLayer: target.id });
      ctx.store.operations.succeed(op.id, { snapshot: target.id });
    });
  } catch (err) {
    const e = asShedError(err, `roll back sandbox ${rec.id}`);
    // The row still names the old lowers: put their upper back (the sandbox stays stopped).
    if (setAside) await rename(aside, upperDir).catch(() => undefined);
    ctx.store.operations.fail(op.id, { code: e.code, message: e.message });
    throw e;
  }
  await rm(aside, { recursive: true, force: true });
  // The layer it left may have had no other holder.
  await collectLayers(ctx);
  const next = src.running ? await hooks.start() : (ctx.store.sandboxes.get(rec.id) ?? rec);
  ctx.events.publish('rolled_back', next, { layerId: target.id });
  return next;
}

const asideOf = (upperDir: string): string => `${upperDir}.rollback`;

/**
 * At start, for a rollback operation still pending (shedd died during it): its transaction
 * never committed (the operation is marked done in it), so the row still names the old lowers;
 * an upper set aside goes back. The sandbox is stopped then (its stop committed first), so
 * nothing has its upper mounted. Returns whether it moved anything.
 */
export async function restoreCutShortRollback(op: OperationRecord): Promise<boolean> {
  const r = op.request;
  const upper = typeof r === 'object' && r !== null && 'upper' in r && typeof r.upper === 'string' ? r.upper : undefined;
  if (op.kind !== 'rollback' || upper === undefined || !existsSync(asideOf(upper))) return false;
  // A start after the crash would have made a fresh upper: never replace one that exists.
  if (existsSync(upper)) return false;
  await rename(asideOf(upper), upper);
  return true;
}
