import Database from 'better-sqlite3';
import { ShedError } from '../core/errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Db = Database.Database;

export interface OpenDbOptions {
  /** Path of the database file; ':memory:' for tests of pure logic. */
  path: string;
  /** Migrations to apply (tests may pass a prefix). @default MIGRATIONS */
  migrations?: readonly Migration[];
}

/**
 * Opens shed's SQLite database in WAL mode and brings its schema up to date. WAL lets
 * readers (list, inspect) run while a writer commits; synchronous=NORMAL is durable across
 * a process crash (kill -9), which is the failure shed promises to survive, and loses at
 * most the last transactions on power loss.
 */
export function openDb(opts: OpenDbOptions): Db {
  const db = new Database(opts.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, opts.migrations ?? MIGRATIONS);
  return db;
}

function migrate(db: Db, migrations: readonly Migration[]): void {
  const current = Number(db.pragma('user_version', { simple: true }));
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new ShedError(
      'failed_precondition',
      `the database schema is version ${current}, newer than this shed (${latest}); run a newer shedd or use a fresh data directory`,
    );
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
