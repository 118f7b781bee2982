import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.js';
import type { ImageService } from '../core/images.js';

/** How often the cap is checked between starts: pulls and imports are rare, evictions rarer. */
export const IMAGE_CAP_INTERVAL_MS = 15 * 60_000;

/**
 * Keeps the image cache under `maxBytes` (allocated bytes of images and blobs): a prune with
 * that cap at start (awaited), then every interval. In-use and recently used images are never evicted
 * (the store's own rules). Returns a stop function.
 */
export async function startImageCap(images: ImageService, maxBytes: number | undefined, log: Logger, intervalMs = IMAGE_CAP_INTERVAL_MS): Promise<() => void> {
  if (maxBytes === undefined) return () => undefined;
  const run = async (): Promise<void> => {
    try {
      const r = await images.prune({ maxBytes });
      const evicted = r.deleted.filter((d) => d.reason === 'lru').map((d) => d.digest);
      if (r.freedBytes > 0) log.info({ evicted, freedBytes: r.freedBytes, totalBytes: r.totalBytes, maxCacheBytes: maxBytes }, 'image cache cap: pruned');
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'image cache cap: prune failed');
    }
  };
  await run(); // before serving: a start reports a cache already within its cap
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
