import type { ImageDigest } from './ids.js';
import type { ImageConfig, ImageSource } from './images.js';

/**
 * Persistence of images, blobs and names: the port images/ writes through. Implemented in
 * store/ on SQLite and wired in by the daemon (images/ and store/ are siblings and never
 * import each other). Calls are synchronous: SQLite answers in microseconds and the image
 * store serialises its mutations itself.
 */
export interface BlobRecord {
  /** sha256:<hex>. */
  readonly digest: string;
  readonly mediaType: string;
  /** Apparent size of the blob. */
  readonly sizeBytes: number;
  readonly createdAt: number;
}

export interface ImageRecord {
  readonly digest: ImageDigest;
  readonly config: ImageConfig;
  readonly source: ImageSource;
  /** Allocated bytes of its unpacked rootfs. */
  readonly diskBytes: number;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  /** Layer blob digests, bottom layer first. */
  readonly layers: readonly string[];
  readonly names: readonly string[];
}

export interface NewImage {
  readonly digest: ImageDigest;
  readonly config: ImageConfig;
  readonly source: ImageSource;
  readonly diskBytes: number;
  readonly createdAt: number;
  readonly layers: readonly string[];
}

export interface ImageRepo {
  /**
   * In one transaction: records the blobs (keeping rows already there), the image and its
   * layers (keeping an existing image row), and points `names` at it, moving them from any
   * image that had them.
   */
  putImage(image: NewImage, blobs: readonly BlobRecord[], names: readonly string[]): void;
  /** Points `names` at an existing image, moving them from any image that had them. */
  addNames(digest: ImageDigest, names: readonly string[]): void;
  getImage(digest: ImageDigest): ImageRecord | undefined;
  /** The image a name points at. */
  lookupName(name: string): ImageDigest | undefined;
  listImages(): ImageRecord[];
  listBlobs(): BlobRecord[];
  /** Records a use (LRU eviction order). */
  touch(digest: ImageDigest, at: number): void;
  setDiskBytes(digest: ImageDigest, bytes: number): void;
  /** Removes one name; false when it did not exist. */
  removeName(name: string): boolean;
  /**
   * Removes an image with its names and layer rows. Throws failed_precondition when a
   * sandbox row still references it.
   */
  removeImage(digest: ImageDigest): void;
  /** Removes blob rows that no image layer references; returns the digests removed. */
  removeBlobs(digests: readonly string[]): string[];
}
