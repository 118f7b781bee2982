import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { invalidArgument, ShedError } from '../core/errors.js';
import type { ImportOptions } from '../core/images.js';
import { openDecompressed, sniffCompression } from './compression.js';
import { ByteCap } from './limits.js';

export type ArchiveFormat = 'oci-layout' | 'docker-archive' | 'rootfs';

export interface DetectedInput {
  readonly format: ArchiveFormat;
  readonly isDir: boolean;
}

const HEX = '[0-9a-f]{64}';
/** Every name an OCI layout or a docker-archive tar holds; any other name means a rootfs tar. */
const ARCHIVE_NAME = new RegExp(
  `^(?:oci-layout|index\\.json|manifest\\.json|repositories|blobs|blobs/sha256|blobs/sha256/${HEX}|${HEX}\\.json|${HEX}|${HEX}/(?:layer\\.tar|VERSION|json))$`,
);

/** Decides what an import path holds, unless the caller said. */
export async function detectInput(path: string, format: ImportOptions['format'], maxBytes: number): Promise<DetectedInput> {
  const st = await lstat(path).catch((err: unknown) => {
    throw new ShedError('not_found', `cannot import '${path}': it does not exist`, { cause: err, details: { path } });
  });
  if (!st.isDirectory() && !st.isFile()) throw invalidArgument(`cannot import '${path}': it is neither a directory nor a file`);
  const isDir = st.isDirectory();
  if (format !== undefined && format !== 'auto') return { format, isDir };
  if (isDir) {
    if (await exists(join(path, 'oci-layout'))) return { format: 'oci-layout', isDir };
    if (await exists(join(path, 'manifest.json'))) return { format: 'docker-archive', isDir };
    return { format: 'rootfs', isDir };
  }
  return { format: await scanTar(path, maxBytes), isDir };
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isFile() ?? false;
}

/** Reads entry names until one cannot belong to an image archive (usually the first of a rootfs). */
async function scanTar(path: string, maxBytes: number): Promise<ArchiveFormat> {
  const dec = openDecompressed(path, await sniffCompression(path));
  const tar = extract();
  const fed = pipeline(dec.stream, new ByteCap(maxBytes, 'the archive uncompressed'), tar);
  fed.catch(() => {}); // Ended early on purpose below, or awaited.
  const seen = new Set<string>();
  let archive = true;
  try {
    for await (const entry of tar) {
      const name = entry.header.name.replace(/^\.\//, '').replace(/\/$/, '');
      if (name !== '' && name !== '.' && !ARCHIVE_NAME.test(name)) {
        archive = false;
        break;
      }
      seen.add(name);
      entry.resume();
    }
    if (archive) await fed;
  } catch (err) {
    if (err instanceof ShedError) throw err;
    throw invalidArgument(`'${path}' is not a tar archive (plain, gzip or zstd): ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    dec.close();
    tar.destroy();
  }
  if (archive && seen.has('oci-layout')) return 'oci-layout';
  if (archive && seen.has('manifest.json')) return 'docker-archive';
  return 'rootfs';
}
