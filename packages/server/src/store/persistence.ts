import type { Persistence } from '../core/sandboxes.js';
import type { Db } from './db.js';
import { SqliteLayerRepo } from './layers-repo.js';
import { SqliteOperationRepo } from './operations-repo.js';
import { SqlitePoolRepo } from './pools-repo.js';
import { SqliteSandboxRepo } from './sandboxes-repo.js';

/** Core's Persistence port on one SQLite database. */
export function sqlitePersistence(db: Db): Persistence {
  return {
    sandboxes: new SqliteSandboxRepo(db),
    operations: new SqliteOperationRepo(db),
    layers: new SqliteLayerRepo(db),
    pools: new SqlitePoolRepo(db),
    transaction: <T>(fn: () => T): T => db.transaction(fn)(),
  };
}
