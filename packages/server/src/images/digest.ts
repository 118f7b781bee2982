import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { invalidArgument } from '../core/errors.js';
import { isImageDigest, type ImageDigest } from '../core/ids.js';

/** Content digests are sha256 only, as in every OCI image shed reads. */
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of a digest: what names files under blobs/sha256 and images/. */
export function digestHex(digest: string): string {
  if (!DIGEST.test(digest)) throw invalidArgument(`'${digest}' is not a sha256 digest`);
  return digest.slice('sha256:'.length);
}

export function toImageDigest(digest: string): ImageDigest {
  if (!isImageDigest(digest)) throw invalidArgument(`'${digest}' is not an image digest (sha256:<64 hex>)`);
  return digest;
}

/** A pass-through stream that hashes and counts what flows through it. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  /** The digest of everything that passed; call once, after the stream finished. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}
