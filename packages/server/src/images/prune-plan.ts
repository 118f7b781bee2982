/** What the planner knows of one image. */
export interface PruneImage {
  readonly digest: string;
  readonly names: readonly string[];
  readonly lastUsedAt: number;
  /** Allocated bytes of its unpacked rootfs. */
  readonly diskBytes: number;
  /** Every blob it references: manifest, config, layers. */
  readonly blobs: readonly string[];
}

export interface PruneInput {
  readonly images: readonly PruneImage[];
  /** Images in use by a sandbox, or used too recently to be judged unused. */
  readonly protect: ReadonlySet<string>;
  /** Allocated bytes of each blob file. */
  readonly blobBytes: ReadonlyMap<string, number>;
  readonly maxBytes?: number;
}

export interface PrunePlan {
  readonly deletions: readonly { digest: string; reason: 'unnamed' | 'lru' }[];
  /** Bytes of the images and referenced blobs that remain. */
  readonly totalBytes: number;
  /** Blobs that no remaining image references. */
  readonly unreferencedBlobs: readonly string[];
}

/**
 * Decides what a prune deletes: every unnamed image nobody uses, then, while images and
 * their blobs take more than `maxBytes`, the least recently used image nobody uses. Shared
 * blobs count once and free their bytes only with the last image that references them.
 */
export function planPrune(input: PruneInput): PrunePlan {
  const deletions: { digest: string; reason: 'unnamed' | 'lru' }[] = [];
  const keep = new Map<string, PruneImage>();
  for (const img of input.images) {
    if (img.names.length === 0 && !input.protect.has(img.digest)) deletions.push({ digest: img.digest, reason: 'unnamed' });
    else keep.set(img.digest, img);
  }
  const refs = new Map<string, number>();
  for (const img of keep.values()) for (const b of new Set(img.blobs)) refs.set(b, (refs.get(b) ?? 0) + 1);
  let total = [...keep.values()].reduce((n, i) => n + i.diskBytes, 0) + [...refs.keys()].reduce((n, b) => n + (input.blobBytes.get(b) ?? 0), 0);
  if (input.maxBytes !== undefined) {
    const byAge = [...keep.values()].filter((i) => !input.protect.has(i.digest)).sort((a, b) => a.lastUsedAt - b.lastUsedAt || a.digest.localeCompare(b.digest));
    for (const img of byAge) {
      if (total <= input.maxBytes) break;
      keep.delete(img.digest);
      deletions.push({ digest: img.digest, reason: 'lru' });
      total -= img.diskBytes;
      for (const b of new Set(img.blobs)) {
        const left = (refs.get(b) ?? 1) - 1;
        if (left === 0) {
          refs.delete(b);
          total -= input.blobBytes.get(b) ?? 0;
        } else refs.set(b, left);
      }
    }
  }
  const unreferencedBlobs = [...input.blobBytes.keys()].filter((b) => !refs.has(b));
  return { deletions, totalBytes: total, unreferencedBlobs };
}
