// A real image store on a temp data dir and a real SQLite database, for functional tests.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore, openDb, SqliteImageRepo, type Db, type ImageStoreOptions } from '@shed/server';

export interface TestStore {
  readonly store: ImageStore;
  readonly repo: SqliteImageRepo;
  readonly db: Db;
  readonly dataDir: string;
  /** A scratch directory for inputs, removed by close(). */
  readonly work: string;
  close(): Promise<void>;
}

export async function openTestStore(opts: Partial<ImageStoreOptions> = {}): Promise<TestStore> {
  const dataDir = await mkdtemp(join(tmpdir(), 'shed-images-test-'));
  const work = await mkdtemp(join(tmpdir(), 'shed-images-input-'));
  const db = openDb({ path: join(dataDir, 'shed.db') });
  const repo = new SqliteImageRepo(db);
  const store = await ImageStore.open({ dataDir, repo, pruneGraceMs: 0, ...opts });
  return {
    store,
    repo,
    db,
    dataDir,
    work,
    close: async () => {
      db.close();
      await rm(dataDir, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** What is on disk besides the database: blobs, unpacked images, and temp entries (which must be none). */
export async function diskState(dataDir: string): Promise<{ blobs: string[]; images: string[]; tmp: string[] }> {
  const ls = (p: string) => readdir(join(dataDir, p)).then((n) => n.sort(), () => []);
  return { blobs: await ls('blobs/sha256'), images: await ls('images'), tmp: await ls('tmp') };
}
