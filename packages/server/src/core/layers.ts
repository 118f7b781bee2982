// Snapshot layers as core sees them: ids, the chain a layer sits on, who holds it, and the
// flatten rule. A layer is a read-only directory written once by the driver (DriverSnapshots);
// a sandbox's lowers are its layer chain, topmost first, then the image rootfs — unless the
// chain ends in a flattened layer, which is a whole rootfs and needs no image below it.
import { randomBytes } from 'node:crypto';
import type { CopyMethod } from './driver.js';
import type { Brand, ImageDigest } from './ids.js';

export type LayerId = Brand<string, 'LayerId'>;

const LAYER_ID = /^ly-[0-9a-f]{16}$/;

export function newLayerId(): LayerId {
  // Brand cast: the value is built to match LAYER_ID.
  return `ly-${randomBytes(8).toString('hex')}` as LayerId;
}

export const isLayerId = (v: string): v is LayerId => LAYER_ID.test(v);

export interface LayerRecord {
  readonly id: LayerId;
  /** The layer directly below; null for the bottom of a chain. */
  readonly parent: LayerId | null;
  /** The image whose rootfs the chain was made over (kept for a flattened layer, as provenance). */
  readonly imageDigest: ImageDigest;
  /** Layers in the chain down to and including this one (1 for a layer on the image). */
  readonly depth: number;
  /** A flattened chain: a whole rootfs, mounted without the image under it. */
  readonly standalone: boolean;
  readonly method: CopyMethod;
  /** Allocated bytes of the layer directory (shared reflinked extents count in full). */
  readonly diskBytes: number;
  readonly createdAt: number;
}

export type NewLayer = Omit<LayerRecord, 'depth'>;

/** Who keeps a layer alive: a named snapshot, a sandbox running on it, a warm pool. */
export type LayerHolderKind = 'snapshot' | 'sandbox' | 'pool';
export const LAYER_HOLDER_KINDS: readonly LayerHolderKind[] = ['snapshot', 'sandbox', 'pool'];

export interface LayerRef {
  readonly layer: LayerId;
  readonly kind: LayerHolderKind;
  readonly holder: string;
}

/**
 * Persistence of layers (store/ implements it on SQLite). A layer is held by its refs and by
 * the layers above it (their parent); only a layer with neither may be removed.
 */
export interface LayerRepo {
  /** Records a layer; its depth is its parent's plus one. not_found when the parent is unknown. */
  putLayer(layer: NewLayer): LayerRecord;
  getLayer(id: LayerId): LayerRecord | undefined;
  /** The layer and those below it, topmost first. */
  chain(id: LayerId): LayerRecord[];
  /** Adds a holder (idempotent). */
  addRef(ref: LayerRef): void;
  /** Drops a holder; false when it did not hold the layer. */
  removeRef(ref: LayerRef): boolean;
  /** Holders plus layers directly above: zero means removable. */
  refCount(id: LayerId): number;
  /** Layers nobody holds and no layer sits on, oldest first: what a GC may delete. */
  unreferenced(): LayerRecord[];
  /** The layer's holders. */
  refsOf(id: LayerId): LayerRef[];
  /** Layers with at least one holder of `kind`, oldest first. */
  heldBy(kind: LayerHolderKind): LayerRecord[];
  /** Removes a layer row; failed_precondition while it is held or has layers above it. */
  removeLayer(id: LayerId): void;
}

/** @default 8 */
export const DEFAULT_MAX_LAYER_DEPTH = 8;

/**
 * Whether a new layer over `parent` makes a chain deeper than `maxDepth`: overlayfs cost grows
 * with lowers (each lookup walks them, and the kernel allows at most 500), so past the limit the
 * chain is flattened into one standalone layer.
 */
export function needsFlatten(parent: LayerRecord | null, maxDepth = DEFAULT_MAX_LAYER_DEPTH): boolean {
  return (parent?.depth ?? 0) + 1 > maxDepth;
}

/** A sandbox's lowers over `chain` (topmost first): the layer dirs, then the image rootfs unless the chain is standalone. */
export function lowersOf(chain: readonly LayerRecord[], layerDir: (id: LayerId) => string, imageRootfs: string): string[] {
  const dirs = chain.map((l) => layerDir(l.id));
  return chain.at(-1)?.standalone === true ? dirs : [...dirs, imageRootfs];
}
