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

export interface ImageInfo {
  readonly digest: ImageDigest;
  /** Names pointing at this image (`default`, `debian`, `127.0.0.1:5000/app:1`). */
  readonly names: readonly string[];
  /** Allocated bytes on disk (blocks, not apparent size) of its unpacked rootfs and blobs. */
  readonly sizeBytes: number;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  readonly config: ImageConfig;
}

export interface ResolvedImage {
  readonly info: ImageInfo;
  /** The unpacked, read-only rootfs directory (owned by the shifted id range). */
  readonly rootfs: string;
}

/** What core needs from the image store. Implemented in images/, wired in by the daemon. */
export interface ImageService {
  /**
   * Resolves a name or digest to an unpacked image, building the built-in images on first
   * use (`default`). Throws not_found with a hint to pull or import.
   */
  resolve(ref: string, opts?: { signal?: AbortSignal }): Promise<ResolvedImage>;
  list(): Promise<ImageInfo[]>;
}
