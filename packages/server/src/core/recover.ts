// What shedd does once at start, before the API serves: thaw sandboxes a snapshot left
// frozen, reconcile sandboxes with the kernel (adopt, release the dead, finish or undo
// operations, sweep orphans), delete what a fork cut short had made (a fork is all or none),
// and free layers nothing holds.
import { asShedError } from './errors.js';
import { cutShortForks } from './fork.js';
import type { SandboxId } from './ids.js';
import { collectLayersLogged } from './layer-gc.js';
import { reconcile, type ReconcileContext, type ReconcileReport } from './reconcile.js';
import { sweepLayers, thawCutShortSnapshots, type SnapshotContext } from './snapshots.js';

export interface RecoveryContext extends ReconcileContext {
  readonly snapshots: SnapshotContext;
  /** Deletes a sandbox the way the API does (its lock, its operation rows). */
  deleteSandbox(id: SandboxId, reason: string): Promise<void>;
}

export async function recoverAtStart(ctx: RecoveryContext): Promise<ReconcileReport> {
  await thawCutShortSnapshots(ctx.store, ctx.driver, ctx.savedHandles, ctx.log);
  const report = await reconcile(ctx);
  for (const id of cutShortForks(ctx.store)) {
    await ctx.deleteSandbox(id, 'its fork was cut short by a shedd restart').then(() => report.deleted.push(id), (err: unknown) => {
      ctx.log.error({ sandbox: id, err: asShedError(err, 'delete').message }, 'deleting a sandbox of a fork cut short failed');
    });
  }
  report.swept.push(...(await sweepLayers(ctx.store, ctx.snapshots.layersRoot)));
  await collectLayersLogged(ctx.snapshots, ctx.log);
  return report;
}
