// Commit: a snapshot becomes an ordinary image in the image store. Each layer of the snapshot's
// chain, bottom first, is exported as an OCI layer tar of what it changes over the layers
// below it (whiteouts for deletions, owners shifted back to the sandbox's range), and the image
// store makes an image of the base image's layers plus those (images/commit.ts: base blobs
// shared by digest, rootfs a hardlink clone of the base's with the new layers unpacked over
// it). A flattened (standalone) bottom layer is a whole rootfs: its tar is exported against an
// empty directory and the image has no base layers. The image owns its rootfs and blobs: the
// snapshot can be deleted afterwards.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { IdMap } from './driver.js';
import { asShedError } from './errors.js';
import { faultPoint } from './faults.js';
import type { ImageInfo, ImageService } from './images.js';
import { lowersOf, type LayerRecord } from './layers.js';
import { forkSource, layerDirOf, layerRepoOf, snapshotsOf, type SnapshotContext } from './snapshots.js';

/** The holder id prefix of a commit's hold on its snapshot while it exports (swept at start like a fork's). */
export const COMMIT_IN_FLIGHT = 'commit-in-flight:';

export interface CommitOptions {
  signal?: AbortSignal;
}

export async function commitSnapshot(
  ctx: SnapshotContext, images: ImageService, idMap: IdMap, ref: string, name: string, opts: CommitOptions = {},
): Promise<ImageInfo> {
  const layer = forkSource(ctx.store, ref);
  const layers = layerRepoOf(ctx.store);
  // Held while its directories are read, so the snapshot cannot be deleted under the export.
  const hold = { layer: layer.id, kind: 'sandbox' as const, holder: `${COMMIT_IN_FLIGHT}${randomBytes(6).toString('hex')}` };
  layers.addRef(hold);
  // Not a layer id: the start-up sweep and the layer GC remove one a crash leaves.
  const scratchName = `.commit-${randomBytes(6).toString('hex')}`;
  const scratch = join(ctx.layersRoot, scratchName);
  const release = ctx.scratch.claim(scratchName);
  try {
    const chain = layers.chain(layer.id);
    const standalone = chain.at(-1)?.standalone === true;
    const baseRootfs = standalone ? '' : (await images.resolve(layer.imageDigest, opts)).rootfs;
    await mkdir(join(scratch, 'empty'), { recursive: true, mode: 0o700 });
    const tars: string[] = [];
    // Bottom first: each layer's tar is what it changes over the layers below it.
    for (let i = chain.length - 1; i >= 0; i--) {
      const tar = join(scratch, `layer-${chain.length - i}.tar`);
      await exportLayer(ctx, chain, i, baseRootfs, join(scratch, 'empty'), tar, idMap, opts.signal);
      tars.push(tar);
    }
    faultPoint('commit.after-export');
    return await images.commit({ base: layer.imageDigest, layers: tars, standalone, name, ...(opts.signal === undefined ? {} : { signal: opts.signal }) });
  } catch (err) {
    throw asShedError(err, `commit snapshot ${layer.id}`);
  } finally {
    layers.removeRef(hold);
    await rm(scratch, { recursive: true, force: true });
    release();
  }
}

async function exportLayer(
  ctx: SnapshotContext, chain: readonly LayerRecord[], i: number, baseRootfs: string, empty: string, tar: string, idMap: IdMap, signal: AbortSignal | undefined,
): Promise<void> {
  const l = chain[i];
  if (l === undefined) return;
  const below = chain.slice(i + 1);
  const lowers = l.standalone ? [empty] : lowersOf(below, (id) => layerDirOf(ctx.layersRoot, id), baseRootfs);
  // exportChanges pipes its tar into the file stream and resolves once the file is finished.
  await snapshotsOf(ctx.driver).exportChanges(layerDirOf(ctx.layersRoot, l.id), lowers, createWriteStream(tar, { mode: 0o600 }), {
    idMap, ...(signal === undefined ? {} : { signal }),
  });
}
