import type { IdMap } from '../core/driver.js';
import { ContainerDriver } from '../drivers/container/driver.js';
import { scopeMemoryReader } from '../drivers/container/memory-usage.js';
import { ImageStore } from '../images/image-store.js';
import type { Db } from '../store/db.js';
import { SqliteImageRepo } from '../store/images-repo.js';
import { sqlitePersistence } from '../store/persistence.js';
import type { Backends } from './serve.js';

/** Sandbox root is host id 100000, for 65536 ids: images are unpacked shifted into this range. */
const ID_MAP: IdMap = { hostId: 100_000, size: 65_536 };

/** The real implementations: SQLite, the image store on the data dir, the container driver. */
export async function createBackends(db: Db, dataDir: string): Promise<Backends> {
  const store = sqlitePersistence(db);
  const images = await ImageStore.open({
    dataDir,
    repo: new SqliteImageRepo(db),
    idMap: ID_MAP,
    inUse: (digest) => store.sandboxes.list().some((s) => s.imageDigest === digest),
  });
  return { driver: new ContainerDriver(), images, store, idMap: ID_MAP, sandboxMemoryReader: scopeMemoryReader };
}
