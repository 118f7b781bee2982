import type { Db } from './db.js';
import { ShedError, notFound } from '../core/errors.js';
import type { ImageDigest, SandboxId } from '../core/ids.js';
import { isLayerId } from '../core/layers.js';
import type { SandboxPatch, SandboxRecord, SandboxRepo, SandboxSpec } from '../core/sandboxes.js';
import { SANDBOX_STATES, type SandboxState } from '../core/state.js';
import { parseJsonColumn } from './json-column.js';
import { ErrorColumn, SpecColumn, TimingsColumn } from './row-schemas.js';

export interface SandboxRow {
  id: string;
  name: string | null;
  image_digest: string;
  driver: string;
  spec: string;
  state: string;
  state_reason: string | null;
  last_error: string | null;
  timings: string;
  created_at: number;
  updated_at: number;
  last_active_at: number | null;
  pool: string | null;
  claimed_from: string | null;
  /** From net_leases: the address of a running 'nat' sandbox. */
  address?: string | null;
}

export const SANDBOX_COLUMNS = 'id, name, image_digest, driver, spec, state, state_reason, last_error, timings, created_at, updated_at, last_active_at, pool, claimed_from';
// Reads join the sandbox's address lease (network 'nat'), so every record shows it.
const READ = `${SANDBOX_COLUMNS}, (SELECT address FROM net_leases WHERE sandbox_id = sandboxes.id) AS address`;

/** Sandbox rows in SQLite. Statements are prepared once; every call is one short statement. */
export class SqliteSandboxRepo implements SandboxRepo {
  readonly #insert;
  readonly #update;
  readonly #get;
  readonly #byName;
  readonly #list;
  readonly #remove;
  readonly #touch;

  constructor(db: Db) {
    this.#insert = db.prepare(`INSERT INTO sandboxes (${SANDBOX_COLUMNS}) VALUES
      (@id, @name, @image_digest, @driver, @spec, @state, @state_reason, @last_error, @timings, @created_at, @updated_at, @last_active_at, @pool, @claimed_from)`);
    this.#update = db.prepare(`UPDATE sandboxes SET spec = @spec, state = @state, state_reason = @state_reason,
      last_error = @last_error, timings = @timings, updated_at = @updated_at, last_active_at = @last_active_at WHERE id = @id`);
    this.#touch = db.prepare<[number, string, number]>(`UPDATE sandboxes SET last_active_at = ?
      WHERE id = ? AND (last_active_at IS NULL OR last_active_at < ?)`);
    this.#get = db.prepare<[string], SandboxRow>(`SELECT ${READ} FROM sandboxes WHERE id = ?`);
    this.#byName = db.prepare<[string], SandboxRow>(`SELECT ${READ} FROM sandboxes WHERE name = ?`);
    this.#list = db.prepare<[], SandboxRow>(`SELECT ${READ} FROM sandboxes ORDER BY created_at, id`);
    this.#remove = db.prepare('DELETE FROM sandboxes WHERE id = ?');
  }

  insert(rec: SandboxRecord): void {
    try {
      this.#insert.run(toRow(rec));
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new ShedError('already_exists', `a sandbox named '${rec.name}' already exists; pick another name or delete it first`, {
          cause: err,
          details: { name: rec.name },
        });
      }
      throw err;
    }
  }

  update(id: SandboxId, patch: SandboxPatch): SandboxRecord {
    const current = this.get(id);
    if (current === undefined) throw notFound('sandbox', id);
    const next: SandboxRecord = {
      ...current,
      spec: patch.fromLayer === undefined ? current.spec : { ...current.spec, fromLayer: patch.fromLayer },
      state: patch.state,
      stateReason: patch.stateReason === undefined ? current.stateReason : patch.stateReason,
      lastError: patch.lastError === undefined ? current.lastError : patch.lastError,
      timings: patch.timings ?? current.timings,
      updatedAt: Date.now(),
      lastActiveAt: patch.lastActiveAt ?? current.lastActiveAt,
    };
    this.#update.run(toRow(next));
    return next;
  }

  get(id: SandboxId): SandboxRecord | undefined {
    const row = this.#get.get(id);
    return row === undefined ? undefined : fromRow(row);
  }

  getByName(name: string): SandboxRecord | undefined {
    const row = this.#byName.get(name);
    return row === undefined ? undefined : fromRow(row);
  }

  list(): SandboxRecord[] {
    return this.#list.all().map(fromRow);
  }

  remove(id: SandboxId): void {
    this.#remove.run(id);
  }

  touch(id: SandboxId, atMs: number): void {
    this.#touch.run(atMs, id, atMs);
  }
}

export function toRow(rec: SandboxRecord): SandboxRow {
  return {
    id: rec.id,
    name: rec.name,
    image_digest: rec.imageDigest,
    driver: rec.driver,
    spec: JSON.stringify(rec.spec),
    state: rec.state,
    state_reason: rec.stateReason,
    last_error: rec.lastError === null ? null : JSON.stringify(rec.lastError),
    timings: JSON.stringify(rec.timings),
    created_at: rec.createdAt,
    updated_at: rec.updatedAt,
    last_active_at: rec.lastActiveAt,
    pool: rec.pool ?? null,
    claimed_from: rec.claimedFrom ?? null,
  };
}

export function fromRow(row: SandboxRow): SandboxRecord {
  const where = `sandbox ${row.id}`;
  return {
    // Brand casts: the id and digest columns are only ever written from branded values.
    id: row.id as SandboxId,
    name: row.name,
    imageDigest: row.image_digest as ImageDigest,
    driver: row.driver,
    spec: parseSpec(row.spec, where),
    state: parseState(row.state, where),
    stateReason: row.state_reason,
    lastError: row.last_error === null ? null : parseJsonColumn(ErrorColumn, row.last_error, `${where} last_error`),
    timings: parseJsonColumn(TimingsColumn, row.timings, `${where} timings`),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastActiveAt: row.last_active_at,
    ...(row.pool === null ? {} : { pool: row.pool }),
    ...(row.claimed_from === null ? {} : { claimedFrom: row.claimed_from }),
    ...(row.address === undefined || row.address === null ? {} : { address: row.address }),
  };
}

function parseSpec(json: string, where: string): SandboxSpec {
  const { fromLayer, ...spec } = parseJsonColumn(SpecColumn, json, `${where} spec`);
  if (fromLayer === undefined) return spec;
  // The column schema checked the layer id pattern; isLayerId narrows it to the brand.
  if (!isLayerId(fromLayer)) throw new ShedError('internal', `stored ${where} spec has a malformed fromLayer '${fromLayer}'`);
  return { ...spec, fromLayer };
}

function parseState(value: string, where: string): SandboxState {
  const state = SANDBOX_STATES.find((s) => s === value);
  if (state === undefined) throw new ShedError('internal', `stored ${where} has unknown state '${value}'`);
  return state;
}

export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && (err.code === 'SQLITE_CONSTRAINT_UNIQUE' || err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY');
}
