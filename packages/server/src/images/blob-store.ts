import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArgument, ShedError } from '../core/errors.js';
import { digestHex, HashingStream } from './digest.js';
import { ByteCap } from './limits.js';
import { tempName } from './fs-util.js';

export interface StoredBlob {
  readonly digest: string;
  readonly sizeBytes: number;
  /** Where the verified bytes are. */
  readonly path: string;
}

export interface WriteBlobOptions {
  /** The digest the bytes must have; a mismatch is invalid_argument and nothing is kept. */
  expected?: string;
  maxBytes: number;
  /** Names the blob in errors. */
  what: string;
  signal?: AbortSignal;
}

/**
 * Content-addressed files: `<dir>/sha256/<hex>`. Bytes are hashed while they are written to
 * a temp file in the same directory, and the file is renamed to its digest only once the
 * digest is known (and matches what was expected): a reader never sees a partial blob, and a
 * crash leaves only temp files that prune sweeps. No fsync: a blob lost to a power cut is
 * detected by the digest check on the next read and fetched again.
 */
export class BlobStore {
  readonly root: string;

  constructor(dir: string) {
    this.root = join(dir, 'sha256');
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
  }

  path(digest: string): string {
    return join(this.root, digestHex(digest));
  }

  async has(digest: string): Promise<boolean> {
    return (await lstat(this.path(digest)).catch(() => undefined))?.isFile() ?? false;
  }

  /** Streams `src` into a temp file in `dir` (same filesystem as the store), hashing it. */
  static async writeVerified(src: Readable, dir: string, opts: WriteBlobOptions): Promise<StoredBlob> {
    const tmp = join(dir, tempName('blob'));
    const hasher = new HashingStream();
    try {
      await pipeline(src, new ByteCap(opts.maxBytes, opts.what), hasher, createWriteStream(tmp, { mode: 0o600 }), {
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const digest = hasher.digest();
      if (opts.expected !== undefined && digest !== opts.expected) {
        throw invalidArgument(`${opts.what} has digest ${digest}, but ${opts.expected} was expected: the archive is corrupt or was tampered with`, {
          expected: opts.expected,
          actual: digest,
        });
      }
      return { digest, sizeBytes: hasher.bytes, path: tmp };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** Hashes a file in place and checks it against `expected`. */
  static async verifyFile(path: string, opts: WriteBlobOptions): Promise<StoredBlob> {
    const hasher = new HashingStream();
    await pipeline(createReadStream(path), new ByteCap(opts.maxBytes, opts.what), hasher, async (s) => {
      for await (const _ of s);
    });
    const digest = hasher.digest();
    if (opts.expected !== undefined && digest !== opts.expected) {
      throw invalidArgument(`${opts.what} has digest ${digest}, but ${opts.expected} was expected: the archive is corrupt or was tampered with`);
    }
    return { digest, sizeBytes: hasher.bytes, path };
  }

  /**
   * Moves a verified file into the store; returns false when the blob was already there (the
   * file is then removed). Same filesystem only: `file` comes from the data dir's tmp/.
   */
  async adopt(file: string, digest: string): Promise<boolean> {
    if (await this.has(digest)) {
      await rm(file, { force: true });
      return false;
    }
    await rename(file, this.path(digest));
    return true;
  }

  async remove(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  /** Every file under sha256/: blobs by digest, and stray temp files by name. */
  async scan(): Promise<{ digests: string[]; strays: string[] }> {
    const digests: string[] = [];
    const strays: string[] = [];
    for (const name of await readdir(this.root).catch(() => [])) {
      if (/^[0-9a-f]{64}$/.test(name)) digests.push(`sha256:${name}`);
      else strays.push(join(this.root, name));
    }
    return { digests, strays };
  }

  /** Opens a blob for reading; not_found names the digest. */
  async open(digest: string): Promise<Readable> {
    if (!(await this.has(digest))) {
      throw new ShedError('not_found', `blob ${digest} is missing from the blob store; pull or import the image again`, {
        details: { blob: digest },
      });
    }
    return createReadStream(this.path(digest));
  }
}
