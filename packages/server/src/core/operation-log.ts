import type { ShedError } from './errors.js';
import type { EventSink } from './events.js';
import type { SandboxId } from './ids.js';
import type { OperationKind, OperationRecord, Persistence } from './sandboxes.js';

/** The intent and outcome rows of the service's operations (see docs/ARCHITECTURE.md, "operations"). */
export class OperationLog {
  constructor(
    private readonly store: Persistence,
    private readonly events: EventSink,
  ) {}

  /** Writes the intent, before anything is done. */
  begin(kind: OperationKind, sandboxId: SandboxId, request: unknown, idempotencyKey?: string): OperationRecord {
    return this.store.operations.begin({ kind, sandboxId, request, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
  }

  /** Records a failed stop or delete: its operation, the sandbox's last error, an event. Returns `e` to throw. */
  failed(op: OperationRecord, id: SandboxId, e: ShedError, event: 'stop_failed' | 'delete_failed'): ShedError {
    const info = { code: e.code, message: e.message };
    this.store.operations.fail(op.id, info);
    const rec = this.store.sandboxes.get(id);
    if (rec !== undefined) this.store.sandboxes.update(id, { state: rec.state, lastError: info });
    this.events.publish(event, rec ?? { id, name: null }, { error: info });
    return e;
  }
}
