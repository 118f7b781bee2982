import type { Db } from './db.js';

/**
 * `db.prepare` with each SQL text compiled once: better-sqlite3 compiles a statement on every
 * prepare (tens of microseconds each, and a repo method prepares on every call), while a
 * prepared statement can be run again and again. Repos whose SQL is fixed text use this in
 * place of `db.prepare`; the cache holds one statement per distinct text.
 */
export function statementCache(db: Db): Db['prepare'] {
  const cache = new Map<string, ReturnType<Db['prepare']>>();
  const prepare = (sql: string): ReturnType<Db['prepare']> => {
    let stmt = cache.get(sql);
    if (stmt === undefined) {
      stmt = db.prepare(sql);
      cache.set(sql, stmt);
    }
    return stmt;
  };
  // Same call as db.prepare: its generic parameters only type what the statement binds and returns.
  return prepare as Db['prepare'];
}
