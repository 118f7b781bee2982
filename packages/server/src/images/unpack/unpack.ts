import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { extract, type Extract, type Header } from 'tar-stream';
import { ShedError } from '../../core/errors.js';
import type { IdMap } from '../../core/driver.js';
import type { ProgressFn } from '../../core/images.js';
import { openDecompressed, sniffCompression, type Compression } from '../compression.js';
import { HashingStream } from '../digest.js';
import { ByteCap, type ImageLimits } from '../limits.js';
import { entryParts, printable, whiteoutOf } from './entry-path.js';
import { hostile, RootfsWriter, type EntryMeta } from './rootfs-writer.js';

/** One entry stream of tar-stream's extractor (its type is not exported by name). */
type Source = Extract extends AsyncIterable<infer S> ? S : never;

export interface LayerFile {
  /** The layer blob on disk (compressed or not). */
  readonly path: string;
  /** Names the layer in errors and progress ("layer 2 (sha256:…)"). */
  readonly what: string;
}

export interface UnpackOptions {
  /** Bottom layer first. */
  readonly layers: readonly LayerFile[];
  /** The rootfs directory to create; its parent must exist and it must not (unless `over`). */
  readonly dest: string;
  /**
   * `dest` exists already: a hardlink clone of another rootfs to apply the layers over (a
   * commit). Safe because the writer never writes through an existing inode. @default false
   */
  readonly over?: boolean;
  readonly idMap: IdMap;
  readonly limits: ImageLimits;
  readonly zstdPath?: string;
  readonly onProgress?: ProgressFn;
  readonly signal?: AbortSignal;
}

export interface UnpackResult {
  /** sha256 of each layer's uncompressed tar (the config's rootfs.diff_ids). */
  readonly diffIds: readonly string[];
  readonly compressions: readonly Compression[];
  /** Allocated bytes of the rootfs, each inode once. */
  readonly allocatedBytes: number;
  readonly entries: number;
  /** Device nodes and FIFOs left out: a sandbox's /dev comes from the runtime. */
  readonly skipped: number;
}

/**
 * Applies image layers, bottom first, into a new rootfs: regular files, directories,
 * symlinks, hardlinks, whiteouts and opaque directories, with modes (setuid, setgid,
 * sticky), mtimes, and ownership shifted into the sandbox's host id range. Any hostile or
 * over-limit entry fails the whole unpack with invalid_argument naming the layer and entry;
 * the caller removes the partial tree (it unpacks into a temp directory).
 */
export async function unpackLayers(opts: UnpackOptions): Promise<UnpackResult> {
  const writer = new RootfsWriter(opts.dest, { uid: opts.idMap.hostId, gid: opts.idMap.hostId });
  await writer.init({ exists: opts.over === true });
  const state = { entries: 0, fileBytes: 0, skipped: 0 };
  const total = await totalSize(opts.layers);
  let done = 0;
  const diffIds: string[] = [];
  const compressions: Compression[] = [];
  for (const layer of opts.layers) {
    opts.signal?.throwIfAborted();
    writer.beginLayer();
    const compression = await sniffCompression(layer.path);
    compressions.push(compression);
    diffIds.push(await applyLayer(layer, compression, writer, state, opts));
    done += (await stat(layer.path)).size;
    opts.onProgress?.({ phase: 'unpack', doneBytes: done, totalBytes: total, detail: layer.what });
  }
  const allocatedBytes = await writer.finish();
  return { diffIds, compressions, allocatedBytes, entries: state.entries, skipped: state.skipped };
}

async function totalSize(layers: readonly LayerFile[]): Promise<number> {
  let n = 0;
  for (const l of layers) n += (await stat(l.path)).size;
  return n;
}

interface UnpackState {
  entries: number;
  fileBytes: number;
  skipped: number;
}

async function applyLayer(layer: LayerFile, compression: Compression, writer: RootfsWriter, state: UnpackState, opts: UnpackOptions): Promise<string> {
  const dec = openDecompressed(layer.path, compression, opts.zstdPath ? { zstdPath: opts.zstdPath } : {});
  const hasher = new HashingStream();
  const tar = extract();
  const fed = pipeline(dec.stream, new ByteCap(opts.limits.maxLayerBytes, `${layer.what} uncompressed`), hasher, tar, {
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  fed.catch(() => {}); // Awaited below; an early failure must not go unhandled meanwhile.
  try {
    for await (const entry of tar) {
      await applyEntry(entry, writer, state, opts);
      opts.signal?.throwIfAborted();
    }
    await fed;
    await dec.done;
  } catch (err) {
    dec.close();
    tar.destroy();
    throw opts.signal?.aborted ? err : inLayer(err, layer.what);
  }
  return hasher.digest();
}

function inLayer(err: unknown, what: string): unknown {
  if (err instanceof ShedError) return new ShedError(err.code, `${what}: ${err.message}`, { cause: err, details: err.details });
  if (err instanceof Error && err.name === 'AbortError') return err;
  const msg = err instanceof Error ? err.message : String(err);
  // tar-stream reports a truncated or non-tar stream as a plain Error.
  return new ShedError('invalid_argument', `${what} is not a readable tar archive: ${msg}`, { cause: err });
}

async function applyEntry(entry: Source, writer: RootfsWriter, state: UnpackState, opts: UnpackOptions): Promise<void> {
  const h = entry.header;
  if (++state.entries > opts.limits.maxEntries) {
    throw hostile(h.name, `is past the limit of ${opts.limits.maxEntries} entries per image`);
  }
  const parts = entryParts(h.name, opts.limits, 'entry');
  const base = parts.at(-1) ?? '';
  const wh = whiteoutOf(base);
  if (wh !== null) {
    await drain(entry);
    if (wh.kind === 'opaque') await writer.opaque(parts.slice(0, -1), h.name);
    else if (wh.kind === 'remove') await writer.remove([...parts.slice(0, -1), wh.name], h.name);
    return;
  }
  switch (h.type) {
    case 'file':
    case 'contiguous-file':
      checkSize(h, state, opts.limits);
      return writer.writeFile(parts, entry, meta(h, opts.idMap), h.name);
    case 'directory':
      await drain(entry);
      return writer.makeDir(parts, meta(h, opts.idMap), h.name);
    case 'symlink':
      await drain(entry);
      if (h.linkname.includes('\0') || Buffer.byteLength(h.linkname) > 4095) throw hostile(h.name, 'has an invalid symlink target');
      return writer.makeSymlink(parts, h.linkname, meta(h, opts.idMap), h.name);
    case 'link':
      await drain(entry);
      return writer.makeHardlink(parts, entryParts(h.linkname, opts.limits, `hardlink target of '${printable(h.name)}'`), h.name);
    case 'character-device':
    case 'block-device':
    case 'fifo':
      await drain(entry);
      state.skipped++;
      return;
    default:
      throw hostile(h.name, `has an unsupported tar entry type (${String(h.type)}); shed unpacks files, directories, symlinks and hardlinks`);
  }
}

function checkSize(h: Header, state: UnpackState, limits: ImageLimits): void {
  if (h.size > limits.maxEntryBytes) throw hostile(h.name, `is ${h.size} bytes, over the limit of ${limits.maxEntryBytes} bytes per file`);
  state.fileBytes += h.size;
  if (state.fileBytes > limits.maxImageBytes) {
    throw hostile(h.name, `takes the image past the limit of ${limits.maxImageBytes} unpacked bytes`);
  }
}

/** Ownership shifted into the sandbox range, from the header or its pax overrides. */
function meta(h: Header, idMap: IdMap): EntryMeta {
  const pax = paxRecord(h);
  const uid = pax['uid'] !== undefined ? Number(pax['uid']) : h.uid;
  const gid = pax['gid'] !== undefined ? Number(pax['gid']) : h.gid;
  for (const [kind, id] of [['uid', uid], ['gid', gid]] as const) {
    if (!Number.isSafeInteger(id) || id < 0 || id >= idMap.size) {
      throw hostile(h.name, `is owned by ${kind} ${id}, outside the sandbox's ${idMap.size} ids (0-${idMap.size - 1}); shed cannot map it`);
    }
  }
  const paxMtime = pax['mtime'] !== undefined ? Number(pax['mtime']) : NaN;
  const mtime = Number.isFinite(paxMtime) ? new Date(paxMtime * 1000) : h.mtime;
  return { uid: idMap.hostId + uid, gid: idMap.hostId + gid, mode: h.mode & 0o7777, mtime: Number.isFinite(mtime.getTime()) ? mtime : new Date(0) };
}

function paxRecord(h: Header): Record<string, string> {
  const p = h.pax;
  if (typeof p !== 'object' || p === null) return {};
  // tar-stream decodes pax records into a plain object of strings (headers.js decodePax).
  return p as Record<string, string>;
}

async function drain(entry: Source): Promise<void> {
  for await (const _ of entry);
}
