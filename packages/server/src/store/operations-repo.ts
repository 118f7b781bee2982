import type { Db } from './db.js';
import { ShedError } from '../core/errors.js';
import { newOperationId, type OperationId, type SandboxId } from '../core/ids.js';
import type {
  OperationIntent, OperationKind, OperationRecord, OperationRepo, OperationState, SandboxErrorInfo,
} from '../core/sandboxes.js';
import { parseJsonColumn } from './json-column.js';
import { AnyColumn, ErrorColumn } from './row-schemas.js';
import { isUniqueViolation } from './sandboxes-repo.js';

interface Row {
  id: string;
  kind: string;
  sandbox_id: string | null;
  idempotency_key: string | null;
  state: string;
  request: string;
  result: string | null;
  error: string | null;
  created_at: number;
  finished_at: number | null;
}

const KINDS: readonly OperationKind[] = ['create', 'delete', 'stop', 'start', 'snapshot', 'rollback'];
const STATES: readonly OperationState[] = ['pending', 'done', 'failed', 'rolled_back'];
const COLUMNS = 'id, kind, sandbox_id, idempotency_key, state, request, result, error, created_at, finished_at';

/**
 * The operations table: an intent row before a sandbox is touched, its outcome after. A
 * restart finds what a crash cut short in `pending()`.
 */
export class SqliteOperationRepo implements OperationRepo {
  readonly #insert;
  readonly #finish;
  readonly #byKey;
  readonly #pending;
  readonly #releaseKey;

  constructor(db: Db) {
    this.#insert = db.prepare(`INSERT INTO operations (${COLUMNS}) VALUES
      (@id, @kind, @sandbox_id, @idempotency_key, 'pending', @request, NULL, NULL, @created_at, NULL)`);
    this.#finish = db.prepare(`UPDATE operations SET state = @state, result = @result, error = @error,
      finished_at = @finished_at WHERE id = @id`);
    this.#byKey = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM operations WHERE idempotency_key = ?`);
    this.#releaseKey = db.prepare<[string]>(`UPDATE operations SET idempotency_key = NULL WHERE id = ? AND state != 'pending'`);
    this.#pending = db.prepare<[], Row>(`SELECT ${COLUMNS} FROM operations WHERE state = 'pending' ORDER BY created_at`);
  }

  begin(intent: OperationIntent): OperationRecord {
    const rec: OperationRecord = {
      id: newOperationId(),
      kind: intent.kind,
      sandboxId: intent.sandboxId,
      idempotencyKey: intent.idempotencyKey ?? null,
      state: 'pending',
      request: intent.request,
      result: null,
      error: null,
      createdAt: Date.now(),
      finishedAt: null,
    };
    try {
      this.#insert.run({
        id: rec.id, kind: rec.kind, sandbox_id: rec.sandboxId, idempotency_key: rec.idempotencyKey,
        request: JSON.stringify(rec.request), created_at: rec.createdAt,
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      throw new ShedError('already_exists', `an operation with idempotency key '${intent.idempotencyKey}' already exists`, {
        cause: err,
        details: { idempotencyKey: intent.idempotencyKey },
      });
    }
    return rec;
  }

  succeed(id: OperationId, result: unknown): void {
    this.#finish.run({ id, state: 'done', result: JSON.stringify(result ?? null), error: null, finished_at: Date.now() });
  }

  fail(id: OperationId, error: SandboxErrorInfo): void {
    this.#finish.run({ id, state: 'failed', result: null, error: JSON.stringify(error), finished_at: Date.now() });
  }

  rollBack(id: OperationId, error: SandboxErrorInfo): void {
    this.#finish.run({ id, state: 'rolled_back', result: null, error: JSON.stringify(error), finished_at: Date.now() });
  }

  releaseKey(id: OperationId): void {
    this.#releaseKey.run(id);
  }

  findByKey(idempotencyKey: string): OperationRecord | undefined {
    const row = this.#byKey.get(idempotencyKey);
    return row === undefined ? undefined : fromRow(row);
  }

  pending(): OperationRecord[] {
    return this.#pending.all().map(fromRow);
  }
}

function fromRow(row: Row): OperationRecord {
  const where = `operation ${row.id}`;
  const kind = KINDS.find((k) => k === row.kind);
  const state = STATES.find((s) => s === row.state);
  if (kind === undefined || state === undefined) {
    throw new ShedError('internal', `stored ${where} has unknown kind '${row.kind}' or state '${row.state}'`);
  }
  return {
    // Brand casts: these columns are only ever written from branded values.
    id: row.id as OperationId,
    kind,
    sandboxId: row.sandbox_id as SandboxId | null,
    idempotencyKey: row.idempotency_key,
    state,
    request: parseJsonColumn(AnyColumn, row.request, `${where} request`),
    result: row.result === null ? null : parseJsonColumn(AnyColumn, row.result, `${where} result`),
    error: row.error === null ? null : parseJsonColumn(ErrorColumn, row.error, `${where} error`),
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}
