import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageDigest } from '../core/ids.js';
import type { ImageRecord, ImageRepo } from '../core/image-repo.js';
import type { PruneResult } from '../core/images.js';
import type { BlobStore } from './blob-store.js';
import { digestHex } from './digest.js';
import { allocatedBytes, removeTree } from './fs-util.js';
import { planPrune } from './prune-plan.js';

export interface GcContext {
  readonly repo: ImageRepo;
  readonly blobs: BlobStore;
  readonly imagesDir: string;
  readonly tmpDir: string;
  /** Every blob an image references: manifest, config, layers. */
  readonly imageBlobs: (img: ImageRecord) => Promise<string[]>;
}

/** Allocated bytes of one blob file (0 when it is missing). */
export async function blobAllocated(blobs: BlobStore, digest: string): Promise<number> {
  const st = await lstat(blobs.path(digest), { bigint: true }).catch(() => undefined);
  return st ? Number(st.blocks) * 512 : 0;
}

/**
 * Deletes an image: its rows, its rootfs, and the blobs no remaining image references.
 * Returns the allocated bytes freed. Runs under the store's mutation lock.
 */
export async function deleteImage(ctx: GcContext, img: ImageRecord): Promise<number> {
  const mine = await ctx.imageBlobs(img);
  ctx.repo.removeImage(img.digest);
  await removeTree(join(ctx.imagesDir, digestHex(img.digest)), ctx.tmpDir);
  const stillUsed = new Set<string>();
  for (const other of ctx.repo.listImages()) for (const b of await ctx.imageBlobs(other)) stillUsed.add(b);
  const drop = [...new Set(mine)].filter((b) => !stillUsed.has(b));
  let freed = img.diskBytes;
  for (const b of drop) {
    freed += await blobAllocated(ctx.blobs, b);
    await ctx.blobs.remove(b);
  }
  ctx.repo.removeBlobs(drop);
  return freed;
}

/** Reachability GC and LRU eviction (see planPrune); runs under the store's mutation lock. */
export async function prune(ctx: GcContext, protect: ReadonlySet<string>, maxBytes: number | undefined): Promise<PruneResult> {
  const records = ctx.repo.listImages();
  const byDigest = new Map(records.map((r) => [r.digest as string, r]));
  const images = [];
  for (const r of records) images.push({ digest: r.digest, names: r.names, lastUsedAt: r.lastUsedAt, diskBytes: r.diskBytes, blobs: await ctx.imageBlobs(r) });
  const scan = await ctx.blobs.scan();
  const blobBytes = new Map<string, number>();
  for (const d of scan.digests) blobBytes.set(d, await blobAllocated(ctx.blobs, d));
  const plan = planPrune({ images, protect, blobBytes, ...(maxBytes === undefined ? {} : { maxBytes }) });

  let freed = 0;
  const deleted: { digest: ImageDigest; names: readonly string[]; reason: 'unnamed' | 'lru' }[] = [];
  for (const d of plan.deletions) {
    const rec = byDigest.get(d.digest);
    if (rec === undefined) continue;
    ctx.repo.removeImage(rec.digest);
    await removeTree(join(ctx.imagesDir, digestHex(rec.digest)), ctx.tmpDir);
    freed += rec.diskBytes;
    deleted.push({ digest: rec.digest, names: rec.names, reason: d.reason });
  }
  for (const b of plan.unreferencedBlobs) {
    freed += blobBytes.get(b) ?? 0;
    await ctx.blobs.remove(b);
  }
  const remaining = new Set(images.filter((i) => !plan.deletions.some((d) => d.digest === i.digest)).flatMap((i) => i.blobs));
  const blobsDeleted = ctx.repo.removeBlobs(ctx.repo.listBlobs().map((b) => b.digest).filter((b) => !remaining.has(b)));
  const strays = await sweepStrays(ctx, scan.strays);
  return {
    deleted,
    blobsDeleted: new Set([...blobsDeleted, ...plan.unreferencedBlobs]).size,
    strayDirsDeleted: strays.count,
    freedBytes: freed + strays.bytes,
    totalBytes: plan.totalBytes,
  };
}

/** Unpack directories with no image row, and files in the blob dir that are not blobs. */
async function sweepStrays(ctx: GcContext, blobStrays: readonly string[]): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for (const p of blobStrays) {
    bytes += await allocatedBytes(p);
    await removeTree(p, ctx.tmpDir);
  }
  for (const name of await readdir(ctx.imagesDir).catch(() => [])) {
    const known = /^[0-9a-f]{64}$/.test(name) && ctx.repo.getImage(`sha256:${name}` as ImageDigest) !== undefined; // Cast: name is 64 hex, the digest form.
    if (known) continue;
    bytes += await allocatedBytes(join(ctx.imagesDir, name));
    await removeTree(join(ctx.imagesDir, name), ctx.tmpDir);
    count++;
  }
  return { count, bytes };
}
