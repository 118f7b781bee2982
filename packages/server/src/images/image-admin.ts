import type { ImageAdmin } from '../core/image-admin.js';
import type { ImageStore } from './image-store.js';

/** The API's image management port (core/image-admin.ts) over the image store. */
export function imageAdmin(store: ImageStore): ImageAdmin {
  return {
    list: () => store.list(),
    pull: (ref, opts) => store.pull(ref, opts ?? {}),
    importTar: (tar, opts) => store.importStream(tar, { names: [opts.name], ...(opts.signal ? { signal: opts.signal } : {}) }),
    remove: async (ref) => {
      await store.remove(ref);
    },
    prune: async (opts) => {
      const r = await store.prune(opts ?? {});
      return { removed: r.deleted.map((d) => d.digest), freedBytes: r.freedBytes };
    },
  };
}
