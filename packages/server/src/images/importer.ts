import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { invalidArgument } from '../core/errors.js';
import type { IdMap } from '../core/driver.js';
import type { ImageDigest } from '../core/ids.js';
import type { BlobRecord, ImageRepo } from '../core/image-repo.js';
import type { ImageConfig, ImageSource, ImportOptions } from '../core/images.js';
import { BlobStore, type StoredBlob } from './blob-store.js';
import type { Candidate, StagedDoc } from './candidate.js';
import { sniffCompression } from './compression.js';
import { digestHex, toImageDigest } from './digest.js';
import { detectInput } from './format.js';
import { isErrno } from './fs-util.js';
import { readDockerArchive, readOciLayout } from './layout.js';
import type { ImageLimits } from './limits.js';
import { buildConfigDoc, buildManifestDoc, layerMediaType, MEDIA } from './oci.js';
import { checkName } from './refs.js';
import { DirSource, TarSource, type ArchiveSource } from './sources.js';
import { dirEntries, writeTar } from './tar-writer.js';
import { unpackLayers } from './unpack/unpack.js';

export interface ImporterDeps {
  readonly tmpDir: string;
  readonly imagesDir: string;
  readonly blobs: BlobStore;
  readonly repo: ImageRepo;
  readonly idMap: IdMap;
  readonly limits: ImageLimits;
  readonly zstdPath?: string;
  readonly now: () => number;
  /** Serialises commits with prune and remove (they delete blobs and rootfs dirs). */
  readonly exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** The config a rootfs import gets: a usual PATH and '/' as working directory. */
export const ROOTFS_CONFIG: ImageConfig = {
  env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  workingDir: '/',
};

export interface ImportRequest extends ImportOptions {
  /** Recorded with the image. @default the detected format */
  source?: ImageSource;
  /** The config of a rootfs import. @default ROOTFS_CONFIG */
  rootfsConfig?: ImageConfig;
}

/** Imports any supported input into the blob store and an unpacked rootfs; returns the image digest. */
export async function importPath(deps: ImporterDeps, path: string, req: ImportRequest): Promise<ImageDigest> {
  const input = await detectInput(path, req.format, deps.limits.maxImageBytes);
  await mkdir(deps.tmpDir, { recursive: true, mode: 0o700 });
  const staging = await mkdtemp(join(deps.tmpDir, '.tmp-import-'));
  try {
    const progress = (doneBytes: number) => req.onProgress?.({ phase: 'stage', doneBytes });
    let cand: Candidate;
    if (input.format === 'rootfs') {
      cand = await stageRootfs(path, input.isDir, staging, deps, req);
    } else {
      const src: ArchiveSource = input.isDir
        ? new DirSource(path, staging, deps.limits)
        : await TarSource.stage(path, staging, deps.limits, req.signal);
      const source = req.source ?? input.format;
      cand =
        input.format === 'oci-layout'
          ? { source, ...(await readOciLayout(src, req)) }
          : await withManifest({ source, ...(await readDockerArchive(src, req)) }, staging);
    }
    progress(cand.layers.reduce((n, l) => n + l.blob.sizeBytes, 0));
    const names = (req.names ?? cand.names).map(checkName);
    if (names.length === 0) throw invalidArgument(`'${path}' carries no image name; give the image one (names: ['myimage:1'])`);
    return await finishImport(deps, { ...cand, names }, staging, req);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function stageRootfs(path: string, isDir: boolean, staging: string, deps: ImporterDeps, req: ImportRequest): Promise<Candidate> {
  let blob: StoredBlob;
  if (isDir) {
    const out = join(staging, 'layer.tar');
    const written = await writeTar(dirEntries(path, { skipped: 0 }), out);
    blob = { ...written, path: out };
  } else {
    blob = await BlobStore.writeVerified(createReadStream(path), staging, {
      maxBytes: deps.limits.maxBlobBytes,
      what: `'${path}'`,
      ...(req.signal ? { signal: req.signal } : {}),
    });
  }
  const mediaType = layerMediaType(await sniffCompression(blob.path));
  return { source: req.source ?? (isDir ? 'dir' : 'rootfs-tar'), names: [], layers: [{ blob, mediaType }] };
}

/** Gives a docker-archive image an OCI manifest over its config and layer blobs. */
async function withManifest(cand: Candidate, staging: string): Promise<Candidate> {
  const layers: StagedDoc[] = [];
  for (const l of cand.layers) layers.push({ blob: l.blob, mediaType: layerMediaType(await sniffCompression(l.blob.path)) });
  if (cand.config === undefined) return { ...cand, layers };
  const manifest = await stageBytes(buildManifestDoc(descriptor(cand.config), layers.map(descriptor)), staging, MEDIA.ociManifest);
  return { ...cand, layers, manifest };
}

function descriptor(d: StagedDoc): { mediaType: string; digest: string; size: number } {
  return { mediaType: d.mediaType, digest: d.blob.digest, size: d.blob.sizeBytes };
}

async function stageBytes(bytes: Buffer, staging: string, mediaType: string): Promise<StagedDoc> {
  const blob = await BlobStore.writeVerified(Readable.from([bytes]), staging, { maxBytes: bytes.length, what: 'document' });
  return { blob, mediaType };
}

/** Unpacks (unless the image is already there), then commits blobs, rootfs and rows together. */
async function finishImport(deps: ImporterDeps, cand: Candidate, staging: string, req: ImportRequest): Promise<ImageDigest> {
  if (cand.manifest !== undefined) {
    const digest = toImageDigest(cand.manifest.blob.digest);
    if (deps.repo.getImage(digest) !== undefined && (await isDir(rootfsDir(deps, digest)))) {
      await deps.exclusive(async () => deps.repo.addNames(digest, cand.names));
      return digest;
    }
  }
  const unpackDir = await mkdtemp(join(deps.tmpDir, '.tmp-unpack-'));
  try {
    // Becomes images/<hex>: traversable by the sandbox's mapped ids, which the runtime needs
    // to reach the rootfs from inside the user namespace.
    await chmod(unpackDir, 0o711);
    const result = await unpackLayers({
      layers: cand.layers.map((l, i) => ({ path: l.blob.path, what: `layer ${i + 1} of ${cand.layers.length} (${l.blob.digest.slice(0, 19)}…)` })),
      dest: join(unpackDir, 'rootfs'),
      idMap: deps.idMap,
      limits: deps.limits,
      ...(deps.zstdPath ? { zstdPath: deps.zstdPath } : {}),
      ...(req.onProgress ? { onProgress: req.onProgress } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    const full = await completeDocs(cand, result.diffIds, staging, req.rootfsConfig ?? ROOTFS_CONFIG);
    req.onProgress?.({ phase: 'commit', doneBytes: result.allocatedBytes });
    return await deps.exclusive(() => commit(deps, full, unpackDir, result.allocatedBytes));
  } finally {
    await rm(unpackDir, { recursive: true, force: true });
  }
}

type FullCandidate = Candidate & Required<Pick<Candidate, 'manifest' | 'config'>>;

/** Checks the layers against the config's diff ids, or builds config and manifest for a rootfs. */
async function completeDocs(cand: Candidate, diffIds: readonly string[], staging: string, rootfsConfig: ImageConfig): Promise<FullCandidate> {
  if (cand.config !== undefined && cand.manifest !== undefined) {
    cand.config.parsed.diffIds.forEach((want, i) => {
      if (diffIds[i] !== want) {
        throw invalidArgument(`layer ${i + 1} unpacks to ${diffIds[i] ?? '?'}, but the image config says ${want}: the image is corrupt`);
      }
    });
    return { ...cand, manifest: cand.manifest, config: cand.config };
  }
  const configDoc = await stageBytes(buildConfigDoc(rootfsConfig, diffIds), staging, MEDIA.ociConfig);
  const config = { ...configDoc, parsed: { config: rootfsConfig, diffIds } };
  const manifest = await stageBytes(buildManifestDoc(descriptor(config), cand.layers.map(descriptor)), staging, MEDIA.ociManifest);
  return { ...cand, config, manifest };
}

export function rootfsDir(deps: Pick<ImporterDeps, 'imagesDir'>, digest: string): string {
  return join(deps.imagesDir, digestHex(digest), 'rootfs');
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function commit(deps: ImporterDeps, cand: FullCandidate, unpackDir: string, diskBytes: number): Promise<ImageDigest> {
  const digest = toImageDigest(cand.manifest.blob.digest);
  const docs = [cand.manifest, cand.config, ...cand.layers];
  for (const d of docs) await deps.blobs.adopt(d.blob.path, d.blob.digest);
  await mkdir(deps.imagesDir, { recursive: true, mode: 0o711 });
  try {
    // images/<hex> appears complete or not at all; another import of the same image may have won.
    await rename(unpackDir, join(deps.imagesDir, digestHex(digest)));
  } catch (err) {
    if (!isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST')) throw err;
  }
  const now = deps.now();
  const blobs: BlobRecord[] = docs.map((d) => ({ digest: d.blob.digest, mediaType: d.mediaType, sizeBytes: d.blob.sizeBytes, createdAt: now }));
  deps.repo.putImage(
    { digest, config: cand.config.parsed.config, source: cand.source, diskBytes, createdAt: now, layers: cand.layers.map((l) => l.blob.digest) },
    blobs,
    cand.names,
  );
  return digest;
}
