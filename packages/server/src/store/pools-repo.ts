import { Type } from '@sinclair/typebox';
import { ShedError, notFound } from '../core/errors.js';
import type { SandboxId } from '../core/ids.js';
import { isLayerId } from '../core/layers.js';
import type { MemberClaim, PoolRepo, StoredPool } from '../core/pools/pool-repo.js';
import type { PoolSpec } from '../core/pools/pool-spec.js';
import type { SandboxRecord } from '../core/sandboxes.js';
import type { Db } from './db.js';
import { parseJsonColumn } from './json-column.js';
import { SANDBOX_COLUMNS, fromRow, isUniqueViolation, type SandboxRow } from './sandboxes-repo.js';

interface PoolRow {
  name: string;
  spec: string;
  created_at: number;
  updated_at: number;
}

const count = Type.Integer({ minimum: 0 });
// Closed, like the other JSON columns: a field this shedd does not know means another version wrote the row.
const PoolColumn = Type.Object({
  name: Type.String(),
  source: Type.Union([
    Type.Object({ image: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
    Type.Object({ snapshot: Type.String({ pattern: '^ly-[0-9a-f]{16}$' }) }, { additionalProperties: false }),
  ]),
  profile: Type.Object({ memoryMiB: count, cpuMillis: count, pidsMax: count, network: Type.Union([Type.Literal('none'), Type.Literal('nat')]) }, { additionalProperties: false }),
  min: count, targetFree: count, max: count, memoryBudgetMiB: count,
}, { additionalProperties: false });

/** Pools set through the API, and the member side of sandbox rows. */
export class SqlitePoolRepo implements PoolRepo {
  readonly #list;
  readonly #put;
  readonly #remove;
  readonly #claim;

  constructor(db: Db) {
    this.#list = db.prepare<[], PoolRow>('SELECT name, spec, created_at, updated_at FROM pools ORDER BY name');
    this.#put = db.prepare<[string, string, number, number], PoolRow>(`INSERT INTO pools (name, spec, created_at, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at
      RETURNING name, spec, created_at, updated_at`);
    this.#remove = db.prepare<[string]>('DELETE FROM pools WHERE name = ?');
    // RETURNING: the claimed record comes back from the one statement that writes it.
    this.#claim = db.prepare<[string | null, string, string, string, number, number, number, string], SandboxRow>(`UPDATE sandboxes
      SET name = ?, spec = ?, claimed_from = ?, timings = ?, created_at = ?, updated_at = ?, last_active_at = ?, pool = NULL
      WHERE id = ? AND pool IS NOT NULL RETURNING ${SANDBOX_COLUMNS}`);
  }

  list(): StoredPool[] {
    return this.#list.all().map(fromPoolRow);
  }

  put(spec: PoolSpec, nowMs: number): StoredPool {
    const row = this.#put.get(spec.name, JSON.stringify(spec), nowMs, nowMs);
    if (row === undefined) throw new ShedError('internal', `storing pool ${spec.name} returned no row`);
    return fromPoolRow(row);
  }

  remove(name: string): boolean {
    return this.#remove.run(name).changes > 0;
  }

  claimMember(id: SandboxId, c: MemberClaim): SandboxRecord {
    let row: SandboxRow | undefined;
    try {
      row = this.#claim.get(c.name, JSON.stringify(c.spec), c.claimedFrom, JSON.stringify(c.timings), c.createdAt, c.createdAt, c.createdAt, id);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      throw new ShedError('already_exists', `a sandbox named '${c.name}' already exists; pick another name or delete it first`, { cause: err, details: { name: c.name } });
    }
    if (row === undefined) throw notFound('pool member', id);
    return fromRow(row);
  }
}

function fromPoolRow(row: PoolRow): StoredPool {
  const where = `pool ${row.name}`;
  const { source, ...rest } = parseJsonColumn(PoolColumn, row.spec, `${where} spec`);
  let spec: PoolSpec;
  if ('snapshot' in source) {
    // The column schema checked the pattern; isLayerId narrows it to the brand.
    if (!isLayerId(source.snapshot)) throw new ShedError('internal', `stored ${where} has a malformed snapshot id`);
    spec = { ...rest, source: { snapshot: source.snapshot } };
  } else {
    spec = { ...rest, source };
  }
  return { spec, createdAt: row.created_at, updatedAt: row.updated_at };
}
