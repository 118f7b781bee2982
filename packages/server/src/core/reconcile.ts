// Start-up reconciliation: what the database says against what the kernel holds. Run once
// by the daemon before the API serves, so nothing else touches a sandbox meanwhile.
//
//  - running (or a start cut short): adopted when its processes live and its agent
//    reconnects; otherwise its kernel state is released and it is marked stopped, with why;
//  - stopping: the stop is finished; deleting: the delete is finished;
//  - a create cut short (a pending operation with no sandbox row): undone and rolled back;
//  - then the driver sweeps what is named for a sandbox id that has no row at all.
import type { Driver, DriverHandles, KnownIds, RunningSandbox } from './driver.js';
import { errorMessage } from './errors.js';
import type { EventSink } from './events.js';
import type { SandboxId } from './ids.js';
import { checkLiveness, releaseDead } from './liveness.js';
import { restoreCutShortRollback } from './rollback.js';
import type { Persistence, SandboxRecord } from './sandboxes.js';
import type { ServiceLog } from './sandbox-service.js';
import { transition } from './state.js';

export interface ReconcileReport {
  readonly adopted: SandboxId[];
  /** Marked stopped: their processes were gone, or their agent did not come back. */
  readonly stopped: SandboxId[];
  /** Deletes and creates cut short by the last daemon, finished or undone now. */
  readonly deleted: SandboxId[];
  readonly rolledBack: SandboxId[];
  /** What the driver's orphan sweep removed. */
  readonly swept: string[];
}

/** What reconciliation needs from the sandbox service. */
export interface ReconcileContext {
  readonly driver: Driver;
  readonly store: Persistence;
  readonly log: ServiceLog;
  readonly runRoot: string;
  readonly stateRoot: string;
  /** The handles saved in the run dir, or null (never started, host rebooted, unreadable). */
  savedHandles(id: SandboxId): Promise<DriverHandles | null>;
  /** Handles the driver can tear down from with only the sandbox's directories. */
  bareHandles(id: SandboxId): DriverHandles;
  /** Sandboxes that exist (rows and creates in flight), asked at each sweep decision. */
  readonly knownIds: KnownIds;
  /** Makes an adopted sandbox live (commands and files reach it). */
  attach(rec: SandboxRecord, running: RunningSandbox): Promise<void>;
  removeDirs(id: SandboxId): Promise<void>;
  /** Where adoptions, deaths and finished deletes are published. @default none */
  readonly events?: EventSink;
}

type Outcome = 'adopted' | 'stopped' | 'deleted' | 'unchanged';

export async function reconcile(ctx: ReconcileContext): Promise<ReconcileReport> {
  const report: ReconcileReport = { adopted: [], stopped: [], deleted: [], rolledBack: [], swept: [] };
  // In parallel: adopting waits for each agent to reconnect (its back-off caps at 250 ms).
  const outcomes = await Promise.all(ctx.store.sandboxes.list().map(async (rec) => [rec.id, await reconcileSafely(ctx, rec)] as const));
  for (const [id, outcome] of outcomes) if (outcome !== 'unchanged') report[outcome].push(id);
  report.rolledBack.push(...(await rollBackPending(ctx)));
  // A sweep that fails part way is logged, not fatal: what it left is tried again next start.
  const swept = await ctx.driver.sweep({ runRoot: ctx.runRoot, stateRoot: ctx.stateRoot, knownIds: ctx.knownIds }).catch((err: unknown) => {
    ctx.log.error({ err: errorMessage(err) }, 'the orphan sweep failed part way');
    return [];
  });
  report.swept.push(...swept);
  return report;
}

/** One sandbox that cannot be reconciled must not keep shedd from serving the others. */
async function reconcileSafely(ctx: ReconcileContext, rec: SandboxRecord): Promise<Outcome> {
  try {
    return await reconcileOne(ctx, rec);
  } catch (err) {
    ctx.log.error({ sandbox: rec.id, state: rec.state, err: errorMessage(err) }, 'reconciling a sandbox failed');
    // A delete that failed stays 'deleting': deleting it again retries.
    if (rec.state === 'deleting') return 'unchanged';
    return markStopped(ctx, rec, ctx.bareHandles(rec.id), `shedd could not re-link it at start: ${errorMessage(err)}`);
  }
}

async function reconcileOne(ctx: ReconcileContext, rec: SandboxRecord): Promise<Outcome> {
  if (rec.state === 'stopped' || rec.state === 'failed') return 'unchanged';
  const saved = await ctx.savedHandles(rec.id);
  const handles = saved ?? ctx.bareHandles(rec.id);
  if (rec.state === 'deleting') {
    await ctx.driver.destroy(handles);
    await ctx.removeDirs(rec.id);
    ctx.store.sandboxes.remove(rec.id);
    ctx.events?.publish('deleted', rec, {});
    return 'deleted';
  }
  if (saved !== null && rec.state !== 'stopping') {
    const verdict = await checkLiveness(ctx.driver, saved, ctx.log);
    if (!verdict.alive) return markStopped(ctx, rec, handles, `${verdict.reason} (found when shedd started)`);
    const running = await ctx.driver.adopt(saved).catch((err: unknown) => {
      ctx.log.warn({ sandbox: rec.id, err: errorMessage(err) }, 'a live sandbox could not be re-linked; stopping it');
      return 'unreachable' as const;
    });
    if (running !== null && running !== 'unreachable') {
      const state = rec.state === 'creating' ? transition(rec.state, 'created') : rec.state;
      await ctx.attach(ctx.store.sandboxes.update(rec.id, { state }), running);
      ctx.events?.publish('adopted', rec, {});
      return 'adopted';
    }
    return markStopped(ctx, rec, handles, running === null ? 'its processes were gone when shedd started' : 'its agent did not reconnect when shedd started');
  }
  return markStopped(ctx, rec, handles, rec.state === 'stopping' ? 'stopped on request' : 'its processes were gone when shedd started');
}

/** Releases what the kernel still holds (mounts, cgroups, runtime state), keeping its files. */
async function markStopped(ctx: ReconcileContext, rec: SandboxRecord, handles: DriverHandles, reason: string): Promise<Outcome> {
  await releaseDead(ctx, rec, handles, reason);
  return 'stopped';
}

/** Creates that never wrote their sandbox row are undone; other pending operations are closed. */
async function rollBackPending(ctx: ReconcileContext): Promise<SandboxId[]> {
  const undone: SandboxId[] = [];
  const cutShort = { code: 'unavailable' as const, message: 'shedd stopped before the operation finished; it was rolled back' };
  for (const op of ctx.store.operations.pending()) {
    const id = op.sandboxId;
    if (op.kind === 'rollback') {
      await restoreCutShortRollback(op).catch((err: unknown) => ctx.log.error({ sandbox: id, err: errorMessage(err) }, 'restoring the upper of a rollback cut short failed'));
    }
    if (op.kind === 'create' && id !== null && ctx.store.sandboxes.get(id) === undefined) {
      try {
        await ctx.driver.destroy((await ctx.savedHandles(id)) ?? ctx.bareHandles(id));
        await ctx.removeDirs(id);
      } catch (err) {
        // The sweep below looks for the same leftovers by name.
        ctx.log.error({ sandbox: id, err: errorMessage(err) }, 'undoing a create cut short failed');
      }
      undone.push(id);
      ctx.events?.publish('create_failed', { id, name: null }, { error: cutShort });
    }
    ctx.store.operations.rollBack(op.id, cutShort);
  }
  return undone;
}
