// The one liveness function. Whoever asks "is this sandbox still there?" — reconciliation
// at start, the live path when an agent link drops, the periodic check — asks it here, and
// whoever finds a sandbox gone releases it here, so a sandbox lost while shedd runs ends up
// exactly like one lost while shedd was down: kernel state torn down from its handles,
// state 'stopped', the reason in state_reason.
import type { Driver, DriverHandles, Liveness } from './driver.js';
import { errorMessage } from './errors.js';
import type { EventSink } from './events.js';
import type { ServiceLog } from './sandbox-service.js';
import type { Persistence, SandboxRecord } from './sandboxes.js';
import { canTransition, transition } from './state.js';

export type { Liveness };

export const ALIVE: Liveness = { alive: true };

/**
 * Asks the driver whether the sandbox behind `handles` is alive. A driver that cannot tell
 * (its check threw) is answered "alive": tearing down a sandbox on a failed look is the one
 * mistake this must never make; the next check asks again.
 */
export async function checkLiveness(driver: Driver, handles: DriverHandles, log?: ServiceLog): Promise<Liveness> {
  try {
    return await driver.liveness(handles);
  } catch (err) {
    log?.warn({ sandbox: handles.id, err: errorMessage(err) }, 'the liveness check failed; assuming alive until the next one');
    return ALIVE;
  }
}

/** Whether a sandbox in this state is one the kernel should be running (so a liveness check applies). */
export const shouldBeRunning = (rec: SandboxRecord): boolean => canTransition(rec.state, 'died');

export interface ReleaseContext {
  readonly driver: Driver;
  readonly store: Persistence;
  readonly log: ServiceLog;
  readonly events?: EventSink;
}

/**
 * Releases what the kernel still holds of a dead sandbox (mounts, cgroups, runtime state),
 * keeping its writable layer, and marks it stopped with `reason`. Call with the sandbox's
 * lock held (or before the API serves). A failed release is recorded in last_error; deleting
 * the sandbox retries it.
 */
export async function releaseDead(ctx: ReleaseContext, rec: SandboxRecord, handles: DriverHandles, reason: string): Promise<SandboxRecord> {
  const lastError = await ctx.driver.stop(handles, { graceMs: 0 }).then(
    () => rec.lastError,
    (err: unknown) => {
      ctx.log.error({ sandbox: rec.id, err: errorMessage(err) }, 'releasing a dead sandbox failed; deleting it retries');
      return { code: 'internal' as const, message: `releasing its kernel state failed: ${errorMessage(err)}` };
    },
  );
  ctx.log.warn({ sandbox: rec.id, state: rec.state, reason }, 'sandbox marked stopped');
  const next = ctx.store.sandboxes.update(rec.id, { state: transition(rec.state, 'died'), stateReason: reason, lastError });
  // A stop cut short (by a crash of the last shedd) is finished here: for a reader, that sandbox stopped; any other died.
  ctx.events?.publish(rec.state === 'stopping' ? 'stopped' : 'died', rec, { reason });
  return next;
}
