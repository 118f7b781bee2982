// A layer's changes as an OCI layer tar: added and modified paths as entries (hardlinks as
// links to their first path, symlinks as symlinks, never followed), deletions as `.wh.<name>`
// files and opaque directories as `<dir>/.wh..wh..opq` — the format every image tool applies.
// Ids are shifted back into the sandbox's range (host 100000 → 0) when an id map is given.
import { constants, type Stats } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import type { IdMap, LayerChange } from '../../../core/driver.js';

const EMPTY = Buffer.alloc(0);

type Pack = ReturnType<typeof pack>;
type Header = Parameters<Pack['entry']>[0];

export interface ExportOptions {
  /** Shift owners from the host range back to the sandbox's (host id − hostId) when inside it. */
  idMap?: IdMap;
  signal?: AbortSignal;
}

/** Writes the tar of `changes` (from diffLayer of `layerDir`) to `out`; returns the entry count. */
export async function exportChangesTar(layerDir: string, changes: readonly LayerChange[], out: Writable, opts: ExportOptions = {}): Promise<number> {
  const p = pack();
  const written = pipeline(p, out, { signal: opts.signal });
  written.catch(() => {}); // Awaited below.
  const firstPath = new Map<string, string>();
  let entries = 0;
  try {
    for (const c of changes) {
      opts.signal?.throwIfAborted();
      entries += await addChange(p, layerDir, c, firstPath, opts.idMap);
    }
    p.finalize();
    await written;
  } catch (err) {
    p.destroy();
    throw err;
  }
  return entries;
}

async function addChange(p: Pack, layerDir: string, c: LayerChange, firstPath: Map<string, string>, idMap?: IdMap): Promise<number> {
  const name = c.path.slice(1);
  if (c.kind === 'deleted') {
    // A file entry without a body waits for its data: give whiteouts an empty one.
    p.entry({ name: join(dirname(name), `.wh.${basename(name)}`), type: 'file', mode: 0o644 }, EMPTY);
    return 1;
  }
  const src = join(layerDir, name);
  const st = await lstat(src);
  const header: Header = { name, mode: st.mode & 0o7777, uid: unshift(st.uid, idMap), gid: unshift(st.gid, idMap), mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000) };
  if (st.isDirectory()) {
    p.entry({ ...header, type: 'directory' });
    if (c.opaque !== true) return 1;
    p.entry({ name: `${name}/.wh..wh..opq`, type: 'file', mode: 0o644 }, EMPTY);
    return 2;
  }
  if (st.isSymbolicLink()) {
    p.entry({ ...header, type: 'symlink', linkname: await readlink(src) });
    return 1;
  }
  if (!st.isFile()) return 0; // device nodes and FIFOs: a sandbox's /dev comes from the runtime
  const link = hardlinkOf(st, name, firstPath);
  if (link !== undefined) p.entry({ ...header, type: 'link', linkname: link });
  else await addFile(p, src, { ...header, type: 'file', size: st.size });
  return 1;
}

function hardlinkOf(st: Stats, name: string, firstPath: Map<string, string>): string | undefined {
  if (st.nlink < 2) return undefined;
  const key = `${st.dev}:${st.ino}`;
  const first = firstPath.get(key);
  if (first === undefined) firstPath.set(key, name);
  return first;
}

// O_NOFOLLOW: the entry was lstat'ed as a regular file; a swap to a symlink fails with ELOOP.
async function addFile(p: Pack, src: string, header: Header): Promise<void> {
  if (header.size === 0) return void p.entry(header, EMPTY);
  const fh = await open(src, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    await pipeline(fh.createReadStream({ autoClose: false, end: Math.max(0, (header.size ?? 0) - 1) }), p.entry(header));
  } finally {
    await fh.close();
  }
}

const unshift = (id: number, m?: IdMap): number => (m !== undefined && id >= m.hostId && id < m.hostId + m.size ? id - m.hostId : id);
