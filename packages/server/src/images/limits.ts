import { Transform, type TransformCallback } from 'node:stream';
import { invalidArgument } from '../core/errors.js';

/**
 * Caps on what one import may make shed read or write. They turn a hostile or broken archive
 * (a decompression bomb, an entry claiming terabytes, millions of empty files, paths deeper
 * than any real image) into an invalid_argument error before the disk fills up.
 */
export interface ImageLimits {
  /** Largest single file in a layer. @default 8 GiB */
  maxEntryBytes: number;
  /** Largest uncompressed stream of one layer, headers included: the decompression-bomb guard. @default 32 GiB */
  maxLayerBytes: number;
  /** Most file bytes one image may unpack, over all layers. @default 64 GiB */
  maxImageBytes: number;
  /** Most entries in one image, over all layers. @default 2,000,000 */
  maxEntries: number;
  /** Deepest path, in components. @default 128 */
  maxPathDepth: number;
  /** Longest entry or link name, in bytes (PATH_MAX is 4096 with the rootfs prefix). @default 3072 */
  maxNameBytes: number;
  /** Largest blob an archive or layout may hold. @default 32 GiB */
  maxBlobBytes: number;
  /** Largest JSON document (index, manifest, config) shed will parse. @default 4 MiB */
  maxJsonBytes: number;
}

const GiB = 1024 ** 3;

export const DEFAULT_LIMITS: ImageLimits = {
  maxEntryBytes: 8 * GiB,
  maxLayerBytes: 32 * GiB,
  maxImageBytes: 64 * GiB,
  maxEntries: 2_000_000,
  maxPathDepth: 128,
  maxNameBytes: 3072,
  maxBlobBytes: 32 * GiB,
  maxJsonBytes: 4 * 1024 * 1024,
};

/** Passes bytes through and fails once more than `max` went by. */
export class ByteCap extends Transform {
  bytes = 0;

  constructor(
    private readonly max: number,
    private readonly what: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) {
      cb(invalidArgument(`${this.what} is larger than the limit of ${this.max} bytes (a decompression bomb or a broken archive)`, { limitBytes: this.max }));
      return;
    }
    cb(null, chunk);
  }
}
