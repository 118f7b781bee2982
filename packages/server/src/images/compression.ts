import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { invalidArgument, ShedError } from '../core/errors.js';

export type Compression = 'gzip' | 'zstd' | 'none';

/** Detects compression from magic bytes, never from a media type or a file name (both lie). */
export async function sniffCompression(path: string): Promise<Compression> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(6);
    const { bytesRead } = await fh.read(buf, 0, 6, 0);
    return compressionOf(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

export function compressionOf(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) {
    throw invalidArgument('the archive is xz-compressed; decompress it (xz -d) or recompress it with gzip or zstd');
  }
  if (head.subarray(0, 3).toString('latin1') === 'BZh') {
    throw invalidArgument('the archive is bzip2-compressed; decompress it (bunzip2) or recompress it with gzip or zstd');
  }
  return 'none';
}

export interface DecompressedStream {
  readonly stream: Readable;
  /** Resolves when the decompressor finished cleanly; rejects with its error. */
  readonly done: Promise<void>;
  /** Stops the decompressor early (after an error downstream). */
  close(): void;
}

export interface OpenDecompressedOptions {
  /** Path of the zstd binary (Debian's `zstd`). @default 'zstd' */
  zstdPath?: string;
}

/**
 * Opens a file's decompressed bytes. gzip runs in zlib; zstd runs in Debian's `zstd` CLI
 * (Node 20's zlib has no zstd), a child process shed started and stops by its own handle.
 */
export function openDecompressed(path: string, compression: Compression, opts: OpenDecompressedOptions = {}): DecompressedStream {
  if (compression === 'none') {
    const stream = createReadStream(path);
    return { stream, done: Promise.resolve(), close: () => stream.destroy() };
  }
  if (compression === 'gzip') {
    const file = createReadStream(path);
    const gunzip = createGunzip();
    file.on('error', (err) => gunzip.destroy(err));
    file.pipe(gunzip);
    return { stream: gunzip, done: Promise.resolve(), close: () => (file.destroy(), gunzip.destroy()) };
  }
  return openZstd(path, opts.zstdPath ?? 'zstd');
}

function openZstd(path: string, bin: string): DecompressedStream {
  const child = spawn(bin, ['-d', '-c', '-q', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  let closed = false;
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) =>
      reject(new ShedError('failed_precondition', `cannot run '${bin}' to read a zstd layer; install Debian's zstd package`, { cause: err })),
    );
    child.on('close', (code, signal) => {
      if (code === 0 || closed) resolve();
      else reject(invalidArgument(`the zstd layer could not be decompressed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
  done.catch(() => {}); // Observed by the caller; this keeps an unawaited early failure from crashing.
  return {
    stream: child.stdout,
    done,
    close: () => {
      closed = true;
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
