import type { Db } from './db.js';
import { isSandboxId, type SandboxId } from '../core/ids.js';
import type { LeaseRepo } from '../core/network.js';
import { ShedError } from '../core/errors.js';

interface Row {
  address: string;
  sandbox_id: string;
}

/** Address leases of 'nat' sandboxes in SQLite (table net_leases). */
export class SqliteLeaseRepo implements LeaseRepo {
  readonly #db: Db;
  readonly #byId;
  readonly #taken;
  readonly #insert;
  readonly #remove;
  readonly #all;
  readonly #move;

  constructor(db: Db) {
    this.#db = db;
    this.#byId = db.prepare<[string], Row>('SELECT address, sandbox_id FROM net_leases WHERE sandbox_id = ?');
    this.#taken = db.prepare<[string], Row>('SELECT address, sandbox_id FROM net_leases WHERE address = ?');
    this.#insert = db.prepare<[string, string, number]>('INSERT INTO net_leases (address, sandbox_id, created_at) VALUES (?, ?, ?)');
    this.#remove = db.prepare<[string]>('DELETE FROM net_leases WHERE sandbox_id = ?');
    this.#move = db.prepare<[string, string]>('UPDATE net_leases SET sandbox_id = ? WHERE sandbox_id = ?');
    this.#all = db.prepare<[], Row>('SELECT address, sandbox_id FROM net_leases ORDER BY address');
  }

  lease(id: SandboxId, candidates: Iterable<string>): string | null {
    // One transaction: two creates never get the same address (SQLite serialises writers).
    return this.#db.transaction(() => {
      const mine = this.#byId.get(id);
      if (mine !== undefined) return mine.address;
      for (const address of candidates) {
        if (this.#taken.get(address) !== undefined) continue;
        this.#insert.run(address, id, Date.now());
        return address;
      }
      return null;
    })();
  }

  release(id: SandboxId): void {
    this.#remove.run(id);
  }

  transfer(from: SandboxId, to: SandboxId): string | null {
    return this.#db.transaction(() => {
      const address = this.addressOf(from);
      if (address !== null) this.#move.run(to, from);
      return address;
    })();
  }

  addressOf(id: SandboxId): string | null {
    return this.#byId.get(id)?.address ?? null;
  }

  list(): { id: SandboxId; address: string }[] {
    return this.#all.all().map((r) => {
      if (!isSandboxId(r.sandbox_id)) throw new ShedError('internal', `net_leases holds a malformed sandbox id '${r.sandbox_id}'`);
      return { id: r.sandbox_id, address: r.address };
    });
  }
}
