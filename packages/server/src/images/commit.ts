// A new image from an existing one plus layer tars (a committed snapshot's changes), without
// copying what the base image already has:
//  - blobs: the base's layer blobs are referenced by digest (the blob store is content
//    addressed), so only the new layers' tars are stored;
//  - rootfs: a hardlink clone of the base rootfs (`cp -al`: new directories, every other entry a
//    link to the base's inode), with the new layers unpacked over it. The unpacker never writes
//    through an existing inode (it unlinks a path before creating a file there, and only
//    chmods/chowns directories, which the clone made fresh), so the base rootfs stays as it was.
//    Its disk cost is the new layers' files plus the directory tree.
// A standalone commit (a flattened snapshot: its one tar is a whole rootfs) has no base layers
// and is unpacked fresh.
import { createReadStream } from 'node:fs';
import { chmod, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ShedError, notFound } from '../core/errors.js';
import type { ImageDigest } from '../core/ids.js';
import type { BlobRecord, ImageRecord } from '../core/image-repo.js';
import type { CommitImageOptions } from '../core/images.js';
import { BlobStore, type StoredBlob } from './blob-store.js';
import { digestHex, toImageDigest } from './digest.js';
import { allocatedBytes, isErrno } from './fs-util.js';
import { rootfsDir, type ImporterDeps } from './importer.js';
import { buildConfigDoc, buildManifestDoc, layerMediaType, MEDIA, parseConfig, parseManifest, type Descriptor, type ParsedConfig } from './oci.js';
import { checkName } from './refs.js';
import { runTool } from './run-tool.js';
import { unpackLayers } from './unpack/unpack.js';

interface BaseImage {
  readonly record: ImageRecord;
  readonly layers: readonly Descriptor[];
  readonly config: ParsedConfig;
  readonly rootfs: string;
}

/** Reads the base image's manifest and config from the blob store. */
async function readBase(deps: ImporterDeps, digest: ImageDigest): Promise<BaseImage> {
  const record = deps.repo.getImage(digest);
  if (record === undefined) throw notFound('image', digest);
  const manifest = parseManifest(await readFile(deps.blobs.path(digest)), `manifest ${digest}`);
  const config = parseConfig(await readFile(deps.blobs.path(manifest.config.digest)), `config ${manifest.config.digest}`);
  return { record, layers: manifest.layers, config, rootfs: rootfsDir(deps, digest) };
}

/** Commits `opts.layers` over `opts.base` (its rootfs must be unpacked); returns the new image's digest. */
export async function commitImage(deps: ImporterDeps, opts: CommitImageOptions): Promise<ImageDigest> {
  const name = checkName(opts.name);
  const base = await readBase(deps, opts.base);
  const standalone = opts.standalone === true;
  const staging = await mkdtemp(join(deps.tmpDir, '.tmp-commit-'));
  const unpackDir = await mkdtemp(join(deps.tmpDir, '.tmp-unpack-'));
  const signal = opts.signal === undefined ? {} : { signal: opts.signal };
  try {
    const blobs: StoredBlob[] = [];
    for (const [i, path] of opts.layers.entries()) {
      blobs.push(await BlobStore.writeVerified(createReadStream(path), staging, { maxBytes: deps.limits.maxBlobBytes, what: `committed layer ${i + 1}`, ...signal }));
    }
    await chmod(unpackDir, 0o711); // Becomes images/<hex>: see importer.ts.
    const dest = join(unpackDir, 'rootfs');
    if (!standalone) await cloneRootfs(base.rootfs, dest, opts.signal);
    const result = await unpackLayers({
      layers: blobs.map((b, i) => ({ path: b.path, what: `committed layer ${i + 1} of ${blobs.length}` })),
      dest, over: !standalone, idMap: deps.idMap, limits: deps.limits, ...(deps.zstdPath ? { zstdPath: deps.zstdPath } : {}), ...signal,
    });
    // Only what the clone does not share with the base: each inode once, the base's seen first.
    const seen = new Set<string>();
    if (!standalone) await allocatedBytes(base.rootfs, seen);
    const diskBytes = await allocatedBytes(dest, seen);
    const layerDescs: Descriptor[] = blobs.map((b) => ({ mediaType: layerMediaType('none'), digest: b.digest, size: b.sizeBytes }));
    const allLayers = [...(standalone ? [] : base.layers), ...layerDescs];
    const configBytes = buildConfigDoc(base.config.config, [...(standalone ? [] : base.config.diffIds), ...result.diffIds]);
    const config = await stage(configBytes, staging);
    const manifest = await stage(buildManifestDoc({ mediaType: MEDIA.ociConfig, digest: config.digest, size: config.sizeBytes }, allLayers), staging);
    return await deps.exclusive(async () => {
      const digest = toImageDigest(manifest.digest);
      for (const l of standalone ? [] : base.layers) {
        if (!(await deps.blobs.has(l.digest))) {
          throw new ShedError('unavailable', `the base image ${opts.base} was removed during the commit (layer ${l.digest} is gone); commit again`);
        }
      }
      for (const b of [manifest, config, ...blobs]) await deps.blobs.adopt(b.path, b.digest);
      await rename(unpackDir, join(deps.imagesDir, digestHex(digest))).catch((err: unknown) => {
        // The same commit made before: its rootfs is already there.
        if (!isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST')) throw err;
      });
      const now = deps.now();
      const records: BlobRecord[] = [
        { digest: manifest.digest, mediaType: MEDIA.ociManifest, sizeBytes: manifest.sizeBytes, createdAt: now },
        { digest: config.digest, mediaType: MEDIA.ociConfig, sizeBytes: config.sizeBytes, createdAt: now },
        ...allLayers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, sizeBytes: l.size, createdAt: now })),
      ];
      deps.repo.putImage({
        digest, config: base.config.config, source: 'commit', diskBytes, createdAt: now, layers: allLayers.map((l) => l.digest),
      }, records, [name]);
      return digest;
    });
  } finally {
    await Promise.all([rm(staging, { recursive: true, force: true }), rm(unpackDir, { recursive: true, force: true })]);
  }
}

async function stage(bytes: Buffer, staging: string): Promise<StoredBlob> {
  return BlobStore.writeVerified(Readable.from([bytes]), staging, { maxBytes: bytes.length, what: 'document' });
}

/** `cp -al`: directories made anew (owners, modes, times kept), everything else hardlinked. */
async function cloneRootfs(src: string, dest: string, signal: AbortSignal | undefined): Promise<void> {
  const r = await runTool('cp', ['-al', '--', src, dest], { pkg: 'coreutils', ...(signal === undefined ? {} : { signal }) });
  if (r.code !== 0) throw new ShedError('internal', `cloning the base rootfs ${src} failed: ${r.output.trim().slice(-500)}`);
}
