import { chmod, mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { notFound, ShedError } from '../core/errors.js';
import type { IdMap } from '../core/driver.js';
import { isImageDigest, type ImageDigest } from '../core/ids.js';
import type { ImageRecord, ImageRepo } from '../core/image-repo.js';
import type {
  BuildOptions,
  BuiltinImage,
  CommitImageOptions,
  ImageInfo,
  ImageService,
  ImportOptions,
  PruneOptions,
  PruneResult,
  PullOptions,
  RemoveOptions,
  RemoveResult,
  ResolvedImage,
} from '../core/images.js';
import { BlobStore } from './blob-store.js';
import { commitImage } from './commit.js';
import { debianTarball, ensureDebianTarball } from './builtin-debian.js';
import { DEFAULT_IMAGE_CONFIG, writeDefaultRootfs } from './builtin-default.js';
import { InFlight, Mutex } from './concurrency.js';
import { digestHex, isDigest } from './digest.js';
import { isErrno } from './fs-util.js';
import { blobAllocated, deleteImage, prune, type GcContext } from './image-gc.js';
import { importPath, rootfsDir, type ImporterDeps, type ImportRequest } from './importer.js';
import { DEFAULT_LIMITS, type ImageLimits } from './limits.js';
import { parseManifest } from './oci.js';
import { nameCandidates, withDefaultTag } from './refs.js';
import { skopeoCopy } from './skopeo.js';
import { unpackLayers } from './unpack/unpack.js';

export interface ImageStoreOptions {
  /** shed's data directory; the store uses blobs/, images/ and tmp/ in it. One store per directory. */
  dataDir: string;
  repo: ImageRepo;
  /** Sandbox id N is stored as host id hostId + N. @default { hostId: 100000, size: 65536 } */
  idMap?: IdMap;
  /** Whether a sandbox uses the image; supplied by the daemon. @default () => false */
  inUse?: (digest: ImageDigest) => boolean | Promise<boolean>;
  limits?: Partial<ImageLimits>;
  /** @default '/bin/busybox' (Debian's busybox-static) */
  busyboxPath?: string;
  /** Where the debian build's tarball is cached, outside the data dir. @default '/var/cache/shed' */
  cacheDir?: string;
  /** Mirror for debootstrap. @default the host's apt mirror for bookworm */
  debianMirror?: string;
  skopeoPath?: string;
  zstdPath?: string;
  /**
   * Images used within this window are never pruned or evicted: a create may have resolved
   * one and not yet recorded its sandbox. @default 60000
   */
  pruneGraceMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** shed's image store: content-addressed blobs, one unpacked rootfs per image, names in the repo. */
export class ImageStore implements ImageService {
  private readonly mutex = new Mutex();
  private readonly inflight = new InFlight<ImageDigest>();
  private readonly ready = new Map<ImageDigest, ResolvedImage>();
  private readonly configOf = new Map<string, string | null>();
  private readonly deps: ImporterDeps;
  private readonly blobs: BlobStore;
  private readonly now: () => number;

  private constructor(private readonly opts: ImageStoreOptions) {
    this.now = opts.now ?? Date.now;
    this.blobs = new BlobStore(join(opts.dataDir, 'blobs'));
    this.deps = {
      tmpDir: join(opts.dataDir, 'tmp'),
      imagesDir: join(opts.dataDir, 'images'),
      blobs: this.blobs,
      repo: opts.repo,
      idMap: opts.idMap ?? { hostId: 100000, size: 65536 },
      limits: { ...DEFAULT_LIMITS, ...opts.limits },
      now: this.now,
      exclusive: (fn) => this.mutex.run(fn),
      ...(opts.zstdPath ? { zstdPath: opts.zstdPath } : {}),
    };
  }

  /** Opens the store, removing temp files a crashed run left in tmp/ (no import runs yet). */
  static async open(opts: ImageStoreOptions): Promise<ImageStore> {
    const store = new ImageStore(opts);
    await store.blobs.init();
    await mkdir(store.deps.imagesDir, { recursive: true, mode: 0o711 });
    await rm(store.deps.tmpDir, { recursive: true, force: true });
    await mkdir(store.deps.tmpDir, { recursive: true, mode: 0o700 });
    return store;
  }

  async resolve(ref: string, opts: { signal?: AbortSignal } = {}): Promise<ResolvedImage> {
    const digest = this.lookup(ref) ?? (await this.buildOnDemand(ref, opts.signal));
    const now = this.now();
    const hit = this.ready.get(digest);
    if (hit !== undefined) {
      this.opts.repo.touch(digest, now);
      return { rootfs: hit.rootfs, info: { ...hit.info, lastUsedAt: now } };
    }
    const rootfs = await this.inflight.run(`unpack:${digest}`, () => this.ensureUnpacked(digest, opts.signal)).then(() => rootfsDir(this.deps, digest));
    this.opts.repo.touch(digest, now);
    const resolved = { rootfs, info: await this.info(this.record(digest)) };
    this.ready.set(digest, resolved);
    return resolved;
  }

  async list(): Promise<ImageInfo[]> {
    const out: ImageInfo[] = [];
    for (const r of this.opts.repo.listImages()) out.push(await this.info(r));
    return out;
  }

  async import(path: string, opts: ImportOptions = {}): Promise<ImageInfo> {
    return this.importAs(path, opts);
  }

  /** Imports an archive (docker-archive, OCI layout or rootfs tar) arriving as a stream (an upload). */
  async importStream(tar: Readable, opts: ImportOptions = {}): Promise<ImageInfo> {
    const work = await mkdtemp(join(this.deps.tmpDir, '.tmp-upload-'));
    try {
      const file = await BlobStore.writeVerified(tar, work, {
        maxBytes: this.deps.limits.maxBlobBytes,
        what: 'the uploaded archive',
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return await this.importAs(file.path, opts);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  async pull(ref: string, opts: PullOptions = {}): Promise<ImageInfo> {
    const name = opts.name ?? withDefaultTag(ref);
    const work = await mkdtemp(join(this.deps.tmpDir, '.tmp-pull-'));
    try {
      const layout = join(work, 'layout');
      await skopeoCopy({
        ref,
        dest: layout,
        tag: 'shed',
        ...(opts.insecure === undefined ? {} : { insecure: opts.insecure }),
        ...(this.opts.skopeoPath ? { skopeoPath: this.opts.skopeoPath } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return await this.importAs(layout, { ...opts, format: 'oci-layout', tag: 'shed', names: [name], source: 'pull' });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  async build(name: BuiltinImage, opts: BuildOptions = {}): Promise<ImageInfo> {
    const digest = await this.inflight.run(`build:${name}`, () => (name === 'default' ? this.buildDefault(opts) : this.buildDebian(opts)));
    return this.info(this.record(digest));
  }

  async remove(ref: string, opts: RemoveOptions = {}): Promise<RemoveResult> {
    return this.mutex.run(async () => {
      const digest = this.lookup(ref);
      if (digest === undefined) throw notFound('image', ref);
      const img = this.record(digest);
      const name = isDigest(ref) ? undefined : nameCandidates(ref).find((n) => img.names.includes(n));
      this.invalidate();
      if (name !== undefined && img.names.length > 1) {
        this.opts.repo.removeName(name);
        return { untagged: [name], freedBytes: 0 };
      }
      if (await this.isInUse(digest)) {
        if (!opts.force) {
          throw new ShedError('failed_precondition', `image '${ref}' is used by a sandbox; delete the sandbox first, or force to untag it (prune frees it once unused)`, {
            details: { image: digest },
          });
        }
        for (const n of img.names) this.opts.repo.removeName(n);
        return { untagged: img.names, freedBytes: 0 };
      }
      const freedBytes = await deleteImage(this.gc(), img);
      return { untagged: img.names, deleted: digest, freedBytes };
    });
  }

  async prune(opts: PruneOptions = {}): Promise<PruneResult> {
    return this.mutex.run(async () => {
      this.invalidate();
      const grace = this.opts.pruneGraceMs ?? 60_000;
      const protect = new Set<string>();
      for (const r of this.opts.repo.listImages()) {
        if (this.now() - r.lastUsedAt < grace || (await this.isInUse(r.digest))) protect.add(r.digest);
      }
      return prune(this.gc(), protect, opts.maxBytes);
    });
  }

  /** A snapshot's changes over `opts.base` as a new image (images/commit.ts). */
  async commit(opts: CommitImageOptions): Promise<ImageInfo> {
    await this.resolve(opts.base, opts.signal === undefined ? {} : { signal: opts.signal });
    const digest = await commitImage(this.deps, opts);
    this.invalidate();
    return this.info(this.record(digest));
  }

  private lookup(ref: string): ImageDigest | undefined {
    if (isImageDigest(ref)) return this.opts.repo.getImage(ref)?.digest;
    for (const n of nameCandidates(ref)) {
      const d = this.opts.repo.lookupName(n);
      if (d !== undefined) return d;
    }
    return undefined;
  }

  private record(digest: ImageDigest): ImageRecord {
    const r = this.opts.repo.getImage(digest);
    if (r === undefined) throw notFound('image', digest);
    return r;
  }

  private async isInUse(digest: ImageDigest): Promise<boolean> {
    return (await this.opts.inUse?.(digest)) ?? false;
  }

  private invalidate(): void {
    this.ready.clear();
  }

  private async importAs(path: string, req: ImportRequest): Promise<ImageInfo> {
    const digest = await importPath(this.deps, path, req);
    this.invalidate();
    return this.info(this.record(digest));
  }

  private async buildOnDemand(ref: string, signal: AbortSignal | undefined): Promise<ImageDigest> {
    if (ref === 'default') return (await this.build('default', signal ? { signal } : {})).digest;
    if (ref === 'debian' && (await stat(debianTarball(this.cacheDir())).catch(() => undefined))) {
      return (await this.build('debian', signal ? { signal } : {})).digest;
    }
    const hint = ref === 'debian' ? " or build it with 'shed image build debian' (debootstrap, a few minutes)" : '';
    throw new ShedError('not_found', `image '${ref}' does not exist; pull it ('shed image pull ${ref}') or import it ('shed image import PATH --name ${ref}')${hint}`, {
      details: { image: ref },
    });
  }

  private cacheDir(): string {
    return this.opts.cacheDir ?? '/var/cache/shed';
  }

  private async buildDefault(opts: BuildOptions): Promise<ImageDigest> {
    const work = await mkdtemp(join(this.deps.tmpDir, '.tmp-default-'));
    try {
      const tar = join(work, 'rootfs.tar');
      await writeDefaultRootfs(this.opts.busyboxPath ?? '/bin/busybox', tar);
      const info = await this.importAs(tar, { ...opts, format: 'rootfs', names: ['default'], source: 'builtin', rootfsConfig: DEFAULT_IMAGE_CONFIG });
      return info.digest;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private async buildDebian(opts: BuildOptions): Promise<ImageDigest> {
    const tarball = await ensureDebianTarball({
      cacheDir: this.cacheDir(),
      ...(this.opts.debianMirror ? { mirror: this.opts.debianMirror } : {}),
      ...(opts.fresh ? { fresh: true } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return (await this.importAs(tarball, { ...opts, format: 'rootfs', names: ['debian'], source: 'builtin' })).digest;
  }

  /** Unpacks an image again from its blobs when its rootfs is missing (a crash, a manual rm). */
  private async ensureUnpacked(digest: ImageDigest, signal: AbortSignal | undefined): Promise<ImageDigest> {
    const dest = rootfsDir(this.deps, digest);
    if ((await stat(dest).catch(() => undefined))?.isDirectory()) return digest;
    const img = this.record(digest);
    const work = await mkdtemp(join(this.deps.tmpDir, '.tmp-unpack-'));
    try {
      await chmod(work, 0o711); // Becomes images/<hex>: see importer.ts.
      const result = await unpackLayers({
        layers: img.layers.map((l, i) => ({ path: this.blobs.path(l), what: `layer ${i + 1} of ${img.layers.length} (${l.slice(0, 19)}…)` })),
        dest: join(work, 'rootfs'),
        idMap: this.deps.idMap,
        limits: this.deps.limits,
        ...(this.deps.zstdPath ? { zstdPath: this.deps.zstdPath } : {}),
        ...(signal ? { signal } : {}),
      });
      await this.mutex.run(async () => {
        this.record(digest);
        await rename(work, join(this.deps.imagesDir, digestHex(digest))).catch((err: unknown) => {
          if (!isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST')) throw err;
        });
        this.opts.repo.setDiskBytes(digest, result.allocatedBytes);
      });
      return digest;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private async info(r: ImageRecord): Promise<ImageInfo> {
    let blobBytes = 0;
    for (const b of new Set(await this.imageBlobs(r))) blobBytes += await blobAllocated(this.blobs, b);
    return {
      digest: r.digest,
      names: r.names,
      sizeBytes: r.diskBytes + blobBytes,
      source: r.source,
      createdAt: r.createdAt,
      lastUsedAt: r.lastUsedAt,
      config: r.config,
    };
  }

  /** Manifest, config and layer digests; the config digest is read from the manifest once. */
  private async imageBlobs(r: ImageRecord): Promise<string[]> {
    let config = this.configOf.get(r.digest);
    if (config === undefined) {
      const bytes = await readFile(this.blobs.path(r.digest)).catch(() => undefined);
      config = bytes ? parseManifest(bytes, `manifest ${r.digest}`).config.digest : null;
      this.configOf.set(r.digest, config);
    }
    return [r.digest, ...(config ? [config] : []), ...r.layers];
  }

  private gc(): GcContext {
    return { repo: this.opts.repo, blobs: this.blobs, imagesDir: this.deps.imagesDir, tmpDir: this.deps.tmpDir, imageBlobs: (r) => this.imageBlobs(r) };
  }
}
