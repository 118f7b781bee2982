import type { IdMap } from '../core/driver.js';
import { ContainerDriver, type ContainerDriverOptions } from '../drivers/container/driver.js';
import { scopeMemoryReader } from '../drivers/container/memory-usage.js';
import { ImageStore } from '../images/image-store.js';
import { NatNetworks } from '../net/nat-networks.js';
import type { NetworkSettings } from '../net/settings.js';
import type { Db } from '../store/db.js';
import { SqliteLeaseRepo } from '../store/leases-repo.js';
import { SqliteImageRepo } from '../store/images-repo.js';
import { sqlitePersistence } from '../store/persistence.js';
import type { ImageSettings } from './config.js';
import type { Backends } from './serve.js';

export interface BackendSettings {
  readonly dataDir: string;
  /** Parent of the sandboxes' run dirs (SandboxDirs.roots.runRoot): spare netns live there too. */
  readonly runRoot: string;
  /** Sandbox root's host id and range: images are unpacked shifted into it. */
  readonly idMap: IdMap;
  readonly container: ContainerDriverOptions;
  /** The image store's knobs (the cap is applied by the daemon: image-cap.ts). */
  readonly images: Omit<ImageSettings, 'maxCacheBytes'>;
  readonly network: NetworkSettings;
  readonly log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** The real implementations: SQLite, the image store on the data dir, the container driver. */
export async function createBackends(db: Db, settings: BackendSettings): Promise<Backends> {
  const { dataDir, idMap } = settings;
  const store = sqlitePersistence(db);
  const images = await ImageStore.open({
    dataDir,
    repo: new SqliteImageRepo(db),
    idMap,
    ...imageStoreKnobs(settings.images),
    // A snapshot layer sits on its image's rootfs (and its row references the image).
    inUse: (digest) => store.sandboxes.list().some((s) => s.imageDigest === digest)
      || (store.layers?.heldBy('snapshot').some((l) => l.imageDigest === digest) ?? false),
  });
  const network = new NatNetworks({
    settings: settings.network, leases: new SqliteLeaseRepo(db), runRoot: settings.runRoot, ...(settings.log === undefined ? {} : { log: settings.log }),
  });
  // Sandboxes adopted at start keep their network; the base rules and DNS come back with it.
  await network.resume();
  return { driver: new ContainerDriver({ ...settings.container, network }), images, store, idMap, network, sandboxMemoryReader: scopeMemoryReader };
}

function imageStoreKnobs(s: BackendSettings['images']): Omit<ImageSettings, 'maxCacheBytes'> {
  const { pruneGraceMs, cacheDir, debianMirror, busyboxPath, skopeoPath } = s;
  return Object.fromEntries(Object.entries({ pruneGraceMs, cacheDir, debianMirror, busyboxPath, skopeoPath }).filter(([, v]) => v !== undefined));
}
