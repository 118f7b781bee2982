// Layer garbage collection. A layer is held by its refs (its snapshot, the sandboxes on it, a
// pool) and by the layers whose parent it is. Whatever no longer has either is removed, row
// first and then its directory, walking down a chain (a removed top can free its parent).
// Directories under the layers root without a row and not being written right now (a removal
// that failed, a crash's leftovers when shedd did not restart) go too. Runs after every path
// that drops a ref (sandbox delete, rollback, snapshot delete: rows only, cheap) and on
// `shed system prune` (rows and directories, reported with the allocated bytes freed).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { asShedError } from './errors.js';
import { isLayerId, type LayerId } from './layers.js';
import type { SnapshotContext } from './snapshots.js';

/** Names under the layers root that an operation of this shedd is writing (a new layer, a scratch capture). */
export class LayerScratch {
  readonly #names = new Set<string>();

  /** Marks `names` as in use while `fn` runs: the GC leaves them alone. */
  async hold<T>(names: readonly string[], fn: () => Promise<T>): Promise<T> {
    for (const n of names) this.#names.add(n);
    try {
      return await fn();
    } finally {
      for (const n of names) this.#names.delete(n);
    }
  }

  /** Marks `name` until `release` is called (a capture that outlives the call that made it). */
  claim(name: string): () => void {
    this.#names.add(name);
    return () => this.#names.delete(name);
  }

  has(name: string): boolean {
    return this.#names.has(name);
  }
}

export interface LayerGcResult {
  /** Layer ids whose rows and directories were removed, and directories that had no row. */
  readonly removed: string[];
  /** Allocated bytes freed (blocks, not apparent size). */
  readonly freedBytes: number;
}

/** Removes unheld layers (rows, then directories); with `orphans`, also directories that belong to no row. */
export async function collectLayers(ctx: SnapshotContext, opts: { orphans?: boolean; signal?: AbortSignal } = {}): Promise<LayerGcResult> {
  const layers = ctx.store.layers;
  const snapshots = ctx.driver.snapshots;
  if (layers === undefined || snapshots === undefined) return { removed: [], freedBytes: 0 };
  const gone = ctx.store.transaction(() => {
    const out: LayerId[] = [];
    for (let batch = layers.unreferenced(); batch.length > 0; batch = layers.unreferenced()) {
      for (const l of batch) {
        layers.removeLayer(l.id);
        out.push(l.id);
      }
    }
    return out;
  });
  const removed: string[] = [...gone];
  let freedBytes = 0;
  const o = opts.signal === undefined ? {} : { signal: opts.signal };
  for (const id of gone) freedBytes += await snapshots.discardLayer(join(ctx.layersRoot, id), o);
  if (opts.orphans === true) {
    for (const name of await readdir(ctx.layersRoot).catch(() => [])) {
      // Checked at removal time, not listing time: a snapshot that finished meanwhile has its row.
      if (ctx.scratch.has(name) || (isLayerId(name) && layers.getLayer(name) !== undefined)) continue;
      freedBytes += await snapshots.discardLayer(join(ctx.layersRoot, name), o);
      removed.push(name);
    }
  }
  return { removed, freedBytes };
}

/**
 * collectLayers after a path that dropped a ref (rows only, cheap): a failure is logged,
 * never the caller's, since the next one or `shed system prune` retries.
 */
export async function collectLayersLogged(ctx: SnapshotContext, log: { info(o: object, msg: string): void; warn(o: object, msg: string): void }): Promise<void> {
  const r = await collectLayers(ctx).catch((err: unknown) => {
    log.warn({ err: asShedError(err, 'layer gc').message }, 'freeing unheld layers failed');
    return { removed: [], freedBytes: 0 };
  });
  if (r.removed.length > 0) log.info({ layers: r.removed, freedBytes: r.freedBytes }, 'freed unheld layers');
}
