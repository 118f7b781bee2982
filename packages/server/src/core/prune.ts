import type { Driver, KnownIds } from './driver.js';
import type { ImageService, PruneResult } from './images.js';
import type { LayerGcResult } from './layer-gc.js';
import type { ServiceLog } from './sandbox-service.js';

export interface SystemPruneOptions {
  /** Also remove images no sandbox uses. @default false */
  images?: boolean;
}

export interface SystemPruneResult {
  /** What the driver's orphan sweep removed, one line each. */
  readonly swept: string[];
  /** Unheld snapshot layers and layer directories without a row that were removed. */
  readonly layers: LayerGcResult;
  readonly images: PruneResult | null;
}

/**
 * The orphan sweep on demand (and on the scheduler's clock), then optionally the image prune.
 * `knownIds` must be the live view (rows and creates in flight): the sweep asks it at each
 * removal, which is what makes running it beside creates safe (core/locks.ts).
 */
export async function pruneSystem(
  d: { readonly driver: Driver; readonly images: ImageService; readonly log: ServiceLog; collectLayers(): Promise<LayerGcResult> },
  roots: { readonly runRoot: string; readonly stateRoot: string },
  knownIds: KnownIds,
  opts: SystemPruneOptions,
): Promise<SystemPruneResult> {
  const swept = await d.driver.sweep({ ...roots, knownIds });
  if (swept.length > 0) d.log.info({ swept }, `orphan sweep removed ${swept.length} leftovers`);
  const layers = await d.collectLayers();
  if (layers.removed.length > 0) d.log.info({ layers: layers.removed, freedBytes: layers.freedBytes }, `layer gc removed ${layers.removed.length} layers or directories`);
  return { swept, layers, images: opts.images === true ? await d.images.prune() : null };
}
