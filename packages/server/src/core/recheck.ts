// The live path of the liveness check: a sandbox that should be running is asked about when
// its agent link drops and on the periodic check. Gone: released and marked stopped with why
// (core/liveness.ts releaseDead, as reconciliation does at start). Alive with its link down:
// adopted again, as a restarted shedd would.
import type { DriverHandles, RunningSandbox } from './driver.js';
import { asShedError } from './errors.js';
import type { SandboxId } from './ids.js';
import type { LiveSandbox } from './live-sandbox.js';
import { checkLiveness, releaseDead, shouldBeRunning, type Liveness, type ReleaseContext } from './liveness.js';
import type { SandboxRecord } from './sandboxes.js';

export interface RecheckContext extends ReleaseContext {
  /** The service's live set: what has an agent link now. */
  readonly live: Map<SandboxId, LiveSandbox>;
  /** The saved handles, else bare ones. */
  savedHandles(id: SandboxId): Promise<DriverHandles>;
  /** Makes a re-adopted sandbox live again (and watches its new link). */
  relinked(rec: SandboxRecord, running: RunningSandbox): Promise<void>;
}

/** Call with the sandbox's lock held. `foundBy` ends up in the reason, e.g. "found when its agent link dropped". */
export async function recheckSandbox(ctx: RecheckContext, id: SandboxId, foundBy: string): Promise<Liveness> {
  const rec = ctx.store.sandboxes.get(id);
  if (rec === undefined || !shouldBeRunning(rec)) return { alive: true };
  const live = ctx.live.get(id);
  const handles = live?.handles ?? (await ctx.savedHandles(id));
  let verdict = await checkLiveness(ctx.driver, handles, ctx.log);
  if (verdict.alive && live !== undefined && !live.agent.signal.aborted) return verdict;
  if (verdict.alive) verdict = await relink(ctx, rec, handles);
  if (verdict.alive) return verdict;
  ctx.live.delete(id);
  await live?.close();
  await releaseDead(ctx, rec, handles, `${verdict.reason} (${foundBy})`);
  return verdict;
}

/** Alive but unlinked: adopt it again; gone if it died meanwhile or its agent stays away. */
async function relink(ctx: RecheckContext, rec: SandboxRecord, handles: DriverHandles): Promise<Liveness> {
  try {
    const running = await ctx.driver.adopt(handles);
    if (running !== null) {
      await ctx.live.get(rec.id)?.close();
      await ctx.relinked(rec, running);
      return { alive: true };
    }
  } catch (err) {
    ctx.log.warn({ sandbox: rec.id, err: asShedError(err, 'relink').message }, 'a live sandbox could not be re-linked');
  }
  // The death may have been under way when the link dropped: the second look names it.
  const now = await checkLiveness(ctx.driver, handles, ctx.log);
  return now.alive ? { alive: false, reason: 'its agent link dropped and the agent did not reconnect' } : now;
}
