import type { Readable } from 'node:stream';
import type { ImageDigest } from './ids.js';

/** The parts of an image's config that shape a sandbox. */
export interface ImageConfig {
  /** `KEY=VALUE` entries. */
  env: string[];
  /** Working directory for commands. @default "/" */
  workingDir: string;
  /** The image's own user (informational; shed runs commands as the requested uid). */
  user?: string;
}

/** How an image arrived; stored with it. */
export type ImageSource = 'pull' | 'oci-layout' | 'docker-archive' | 'rootfs-tar' | 'dir' | 'builtin' | 'commit';

export interface ImageInfo {
  readonly digest: ImageDigest;
  /** Names pointing at this image (`default`, `debian`, `127.0.0.1:5000/app:1`). */
  readonly names: readonly string[];
  /**
   * Allocated bytes on disk (blocks, not apparent size) of its unpacked rootfs and its blobs.
   * Blobs shared with other images count in each of them.
   */
  readonly sizeBytes: number;
  readonly source: ImageSource;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  readonly config: ImageConfig;
}

export interface ResolvedImage {
  readonly info: ImageInfo;
  /** The unpacked, read-only rootfs directory (owned by the shifted id range). */
  readonly rootfs: string;
}

/** One step of a long image operation, for a progress bar. */
export interface ImageProgress {
  /** fetch: registry download; stage: reading an archive into the blob store; unpack: layers. */
  readonly phase: 'fetch' | 'stage' | 'unpack' | 'commit';
  /** Bytes done so far in this phase. */
  readonly doneBytes: number;
  /** Bytes the phase will handle, when known. */
  readonly totalBytes?: number;
  /** What is being worked on (a blob digest, a layer number). */
  readonly detail?: string;
}

export type ProgressFn = (p: ImageProgress) => void;

export interface ImportOptions {
  /** Names to give the image; they move from any image that had them. @default names found in the archive */
  names?: readonly string[];
  /** What `path` holds. @default 'auto' (detected from its contents) */
  format?: 'auto' | 'oci-layout' | 'docker-archive' | 'rootfs';
  /** For an OCI layout with several images: the `org.opencontainers.image.ref.name` to take. */
  tag?: string;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

export interface PullOptions {
  /** The name to give the image. @default the reference, with ':latest' when it has no tag */
  name?: string;
  /**
   * Skip TLS verification and allow plain HTTP. @default true for registries on
   * 127.0.0.0/8, ::1 and localhost, false otherwise
   */
  insecure?: boolean;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

export interface RemoveOptions {
  /**
   * Untag an image that sandboxes use instead of refusing; its data stays until no
   * sandbox uses it and a prune frees it. @default false
   */
  force?: boolean;
}

export interface RemoveResult {
  /** Names removed. */
  readonly untagged: readonly string[];
  /** The image deleted with its rootfs, when nothing else named or used it. */
  readonly deleted?: ImageDigest;
  /** Allocated bytes freed on disk. */
  readonly freedBytes: number;
}

export interface PruneOptions {
  /**
   * After garbage collection, evict least recently used images until images and blobs take
   * at most this many allocated bytes. In-use images are never evicted. @default no cap
   */
  maxBytes?: number;
}

export interface PruneResult {
  /** Images deleted: unnamed ones, then LRU evictions. */
  readonly deleted: readonly { digest: ImageDigest; names: readonly string[]; reason: 'unnamed' | 'lru' }[];
  readonly blobsDeleted: number;
  /** Unpack and temp directories that belonged to no image. */
  readonly strayDirsDeleted: number;
  readonly freedBytes: number;
  /** Allocated bytes of images and blobs after the prune. */
  readonly totalBytes: number;
}

export interface CommitImageOptions {
  /** The image the layers go over (its layers are shared by digest, not copied). */
  base: ImageDigest;
  /** Uncompressed OCI layer tars, bottom first; read, not moved. */
  layers: readonly string[];
  /** The first tar is a whole rootfs (a flattened snapshot): the base's layers are left out. @default false */
  standalone?: boolean;
  /** The new image's name; it moves from any image that had it. */
  name: string;
  signal?: AbortSignal;
}

/** The images shed can make without a registry. */
export type BuiltinImage = 'default' | 'debian';

export interface BuildOptions {
  /** Rebuild even when a cached build exists (debian's tarball). @default false */
  fresh?: boolean;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

/** What core needs from the image store. Implemented in images/, wired in by the daemon. */
export interface ImageService {
  /**
   * Resolves a name or digest to an unpacked image, building the built-in images on first
   * use (`default`; `debian` when its build is cached). Throws not_found with a hint to pull
   * or import. Cheap for an unpacked image: it is on the sandbox-create path.
   */
  resolve(ref: string, opts?: { signal?: AbortSignal }): Promise<ResolvedImage>;
  list(): Promise<ImageInfo[]>;
  /** Imports an OCI layout (dir or tar), a docker-archive tar, a rootfs tar or a directory. */
  import(path: string, opts?: ImportOptions): Promise<ImageInfo>;
  /** Imports an archive (OCI layout tar, docker-archive, rootfs tar) arriving as a stream: an upload. */
  importStream(tar: Readable, opts?: ImportOptions): Promise<ImageInfo>;
  /** Pulls `ref` from a registry (skopeo) and imports it under the name `ref`. */
  pull(ref: string, opts?: PullOptions): Promise<ImageInfo>;
  /** Builds a built-in image (busybox `default`, debootstrap `debian`). */
  build(name: BuiltinImage, opts?: BuildOptions): Promise<ImageInfo>;
  /** Removes a name, or the image when it was its last name (or `ref` is a digest). */
  remove(ref: string, opts?: RemoveOptions): Promise<RemoveResult>;
  /** Reachability GC, then size-capped LRU eviction. */
  prune(opts?: PruneOptions): Promise<PruneResult>;
  /** A new image: `base` plus layer tars (a committed snapshot), named `name`. */
  commit(opts: CommitImageOptions): Promise<ImageInfo>;
}
