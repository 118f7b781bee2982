import { ShedError } from './errors.js';
import type { SandboxId } from './ids.js';
import type { OperationRecord, SandboxRecord } from './sandboxes.js';

/**
 * A create that left nothing behind for a reason outside the request (shedd crashed and the
 * create was rolled back, or it was cancelled): a retry with its idempotency key runs anew
 * rather than replaying a failure that told the client to retry.
 */
export const undone = (op: OperationRecord): boolean => op.state === 'rolled_back' || (op.state === 'failed' && op.error?.code === 'unavailable');

/** What a retried create with an idempotency key answers: the first call's sandbox, or its failure. */
export function replayCreate(prior: OperationRecord, get: (id: SandboxId) => SandboxRecord): SandboxRecord {
  if (prior.state === 'done' && prior.sandboxId !== null) return get(prior.sandboxId);
  if (prior.state === 'pending') {
    throw new ShedError('failed_precondition', 'a create with this idempotency key is still in progress; retry shortly', {
      details: { idempotencyKey: prior.idempotencyKey },
    });
  }
  const err = prior.error ?? { code: 'internal' as const, message: 'the earlier create failed' };
  throw new ShedError(err.code, `the earlier create with this idempotency key failed: ${err.message}; use a new key to try again`, {
    details: { idempotencyKey: prior.idempotencyKey },
  });
}
