import { createReadStream } from 'node:fs';
import { lstat, open, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { invalidArgument } from '../core/errors.js';
import { BlobStore, type StoredBlob } from './blob-store.js';
import { openDecompressed, sniffCompression } from './compression.js';
import { ByteCap, type ImageLimits } from './limits.js';

/**
 * The files of an image archive (OCI layout or docker-archive), whether a directory or a
 * tar: small documents are read into memory, blobs are staged as verified files in the
 * import's staging directory.
 */
export interface ArchiveSource {
  /** A small file's bytes (at most maxJsonBytes); undefined when absent. */
  read(path: string): Promise<Buffer | undefined>;
  /** The file as a verified blob in staging; invalid_argument when absent or its digest differs. */
  blob(path: string, expectedDigest?: string): Promise<StoredBlob>;
  /** A small document staged as a blob and read back from the verified copy. */
  doc(path: string, expectedDigest?: string): Promise<{ blob: StoredBlob; bytes: Buffer }>;
}

async function readDoc(blob: StoredBlob, path: string, limits: ImageLimits): Promise<{ blob: StoredBlob; bytes: Buffer }> {
  if (blob.sizeBytes > limits.maxJsonBytes) {
    throw invalidArgument(`'${path}' is ${blob.sizeBytes} bytes, over the ${limits.maxJsonBytes}-byte limit for a document`);
  }
  return { blob, bytes: await readFile(blob.path) };
}

/** Normalises a path named inside an archive; '..' and absolute paths are refused. */
export function archivePath(path: string, what: string): string {
  if (path.startsWith('/') || path.includes('\0')) throw invalidArgument(`${what} '${path}' is not a relative path inside the archive`);
  const norm = posix.normalize(path);
  if (norm === '..' || norm.startsWith('../')) throw invalidArgument(`${what} '${path}' points outside the archive`);
  return norm.replace(/^\.\/?/, '').replace(/\/$/, '');
}

export class DirSource implements ArchiveSource {
  constructor(
    private readonly dir: string,
    private readonly staging: string,
    private readonly limits: ImageLimits,
  ) {}

  async read(path: string): Promise<Buffer | undefined> {
    const file = join(this.dir, archivePath(path, 'file'));
    const st = await lstat(file).catch(() => undefined);
    if (st === undefined || !st.isFile()) return undefined;
    if (st.size > this.limits.maxJsonBytes) throw invalidArgument(`'${path}' is ${st.size} bytes, over the ${this.limits.maxJsonBytes}-byte limit for a document`);
    const fh = await open(file, 'r');
    try {
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  async blob(path: string, expectedDigest?: string): Promise<StoredBlob> {
    const file = join(this.dir, archivePath(path, 'blob'));
    const st = await lstat(file).catch(() => undefined);
    if (st === undefined || !st.isFile()) throw invalidArgument(`the archive has no file '${path}'${expectedDigest ? ` (blob ${expectedDigest})` : ''}`);
    return BlobStore.writeVerified(createReadStream(file), this.staging, {
      ...(expectedDigest ? { expected: expectedDigest } : {}),
      maxBytes: this.limits.maxBlobBytes,
      what: `blob '${path}'`,
    });
  }

  async doc(path: string, expectedDigest?: string): Promise<{ blob: StoredBlob; bytes: Buffer }> {
    return readDoc(await this.blob(path, expectedDigest), path, this.limits);
  }
}

/**
 * A tar archive read once: every regular file is staged (hashed as it is written), and
 * symlinks and hardlinks between its files are followed inside the archive's own namespace
 * (docker save links duplicate layers this way).
 */
export class TarSource implements ArchiveSource {
  private readonly files = new Map<string, StoredBlob>();
  private readonly links = new Map<string, string>();

  private constructor(private readonly limits: ImageLimits) {}

  static async stage(tarPath: string, staging: string, limits: ImageLimits, signal?: AbortSignal): Promise<TarSource> {
    const src = new TarSource(limits);
    const dec = openDecompressed(tarPath, await sniffCompression(tarPath));
    const tar = extract();
    // The whole archive is capped too: a compressed archive of many capped blobs is still a bomb.
    const cap = new ByteCap(limits.maxImageBytes, 'the archive uncompressed');
    const fed = pipeline(dec.stream, cap, tar, ...(signal ? [{ signal }] : []));
    fed.catch(() => {}); // Awaited below; an early failure must not go unhandled meanwhile.
    let count = 0;
    try {
      for await (const entry of tar) {
        if (++count > limits.maxEntries) throw invalidArgument(`the archive has more than ${limits.maxEntries} entries`);
        const name = archivePath(entry.header.name, 'archive entry');
        const h = entry.header;
        if (h.type === 'file' || h.type === 'contiguous-file') {
          // Entry cast: tar-stream's entry is a streamx Readable; Readable.from adapts it for node's pipeline.
          src.files.set(name, await BlobStore.writeVerified(Readable.from(entry as AsyncIterable<Buffer>), staging, {
            maxBytes: limits.maxBlobBytes,
            what: `archive entry '${name}'`,
            ...(signal ? { signal } : {}),
          }));
        } else {
          if (h.type === 'symlink') src.links.set(name, posix.join(posix.dirname(name), h.linkname));
          if (h.type === 'link') src.links.set(name, h.linkname);
          for await (const _ of entry);
        }
      }
      await fed;
      await dec.done;
    } catch (err) {
      dec.close();
      tar.destroy();
      if (signal?.aborted) throw err;
      throw err instanceof Error && err.constructor === Error ? invalidArgument(`the archive is not a readable tar: ${err.message}`) : err;
    }
    return src;
  }

  private lookup(path: string, what: string): StoredBlob | undefined {
    let p = archivePath(path, what);
    for (let hops = 0; hops < 16; hops++) {
      const f = this.files.get(p);
      if (f) return f;
      const next = this.links.get(p);
      if (next === undefined) return undefined;
      p = archivePath(next, what);
    }
    throw invalidArgument(`${what} '${path}' is a chain of links more than 16 deep`);
  }

  async read(path: string): Promise<Buffer | undefined> {
    const f = this.lookup(path, 'file');
    if (f === undefined) return undefined;
    if (f.sizeBytes > this.limits.maxJsonBytes) throw invalidArgument(`'${path}' is ${f.sizeBytes} bytes, over the ${this.limits.maxJsonBytes}-byte limit for a document`);
    const fh = await open(f.path, 'r');
    try {
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  async blob(path: string, expectedDigest?: string): Promise<StoredBlob> {
    const f = this.lookup(path, 'blob');
    if (f === undefined) throw invalidArgument(`the archive has no file '${path}'${expectedDigest ? ` (blob ${expectedDigest})` : ''}`);
    if (expectedDigest !== undefined && f.digest !== expectedDigest) {
      throw invalidArgument(`blob '${path}' has digest ${f.digest}, but ${expectedDigest} was expected: the archive is corrupt or was tampered with`);
    }
    return f;
  }

  async doc(path: string, expectedDigest?: string): Promise<{ blob: StoredBlob; bytes: Buffer }> {
    return readDoc(await this.blob(path, expectedDigest), path, this.limits);
  }
}
