// What a layer changes over the lowers under it. The layer is walked with lstat only and the
// lowers are read through their merged (read-only) view; no symlink is ever followed on the
// host: a path is looked up in the view only below directories that lstat showed to be real
// directories there, and file contents are opened with O_NOFOLLOW. Layers are immutable once
// written; a live upper is diffed while its sandbox is frozen (or through a snapshot), so no
// directory can be swapped for a symlink during the walk.
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { LayerChange } from '../../../core/driver.js';
import { opaqueDirs } from './overlay-xattrs.js';
import { withMergedView } from './merged-view.js';

type What = NonNullable<LayerChange['what']>[number];

const isWhiteout = (s: Stats): boolean => s.isCharacterDevice() && s.rdev === 0;
const lstatOrNull = (p: string): Promise<Stats | null> => lstat(p).catch((err: NodeJS.ErrnoException) => {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
  throw err;
});

interface Walk {
  readonly layer: string;
  readonly lower: string;
  readonly opaque: ReadonlySet<string>;
  readonly out: LayerChange[];
  readonly signal?: AbortSignal;
}

export async function diffLayer(layerDir: string, lowers: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<LayerChange[]> {
  const opaque = await opaqueDirs(layerDir, opts.signal);
  const out: LayerChange[] = [];
  await withMergedView(lowers, dirname(layerDir), (lower) => walkDir({ layer: layerDir, lower, opaque, out, signal: opts.signal }, '', true));
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** `rel` is a directory of the layer; `lowerIsDir`: the view has a real directory at `rel`. */
async function walkDir(w: Walk, rel: string, lowerIsDir: boolean): Promise<void> {
  w.signal?.throwIfAborted();
  const names = await readdir(join(w.layer, rel));
  if (lowerIsDir && w.opaque.has(rel)) {
    // An opaque directory hides everything the lowers have below it.
    const kept = new Set(names);
    for (const n of await readdir(join(w.lower, rel))) if (!kept.has(n)) w.out.push({ path: `/${join(rel, n)}`, kind: 'deleted' });
  }
  for (const name of names) await visit(w, join(rel, name), lowerIsDir && !w.opaque.has(rel));
}

async function visit(w: Walk, rel: string, lowerSeen: boolean): Promise<void> {
  const path = `/${rel}`;
  const st = await lstat(join(w.layer, rel));
  const under = lowerSeen ? await lstatOrNull(join(w.lower, rel)) : null;
  if (isWhiteout(st)) {
    if (under !== null) w.out.push({ path, kind: 'deleted' });
    return;
  }
  const opaque = st.isDirectory() && w.opaque.has(rel) ? { opaque: true } : {};
  if (under === null) {
    w.out.push({ path, kind: 'added', ...opaque });
  } else {
    const what = await differences(join(w.layer, rel), st, join(w.lower, rel), under);
    if (what.length > 0 || opaque.opaque === true) w.out.push({ path, kind: 'modified', what, ...opaque });
  }
  if (st.isDirectory()) await walkDir(w, rel, under?.isDirectory() === true);
}

async function differences(a: string, sa: Stats, b: string, sb: Stats): Promise<What[]> {
  if ((sa.mode & constants.S_IFMT) !== (sb.mode & constants.S_IFMT)) return ['type'];
  const what: What[] = [];
  if ((sa.mode & 0o7777) !== (sb.mode & 0o7777)) what.push('mode');
  if (sa.uid !== sb.uid || sa.gid !== sb.gid) what.push('owner');
  if (sa.isSymbolicLink() && (await readlink(a, 'buffer')).compare(await readlink(b, 'buffer')) !== 0) what.push('target');
  if (sa.isFile() && !(await sameContent(a, sa.size, b, sb.size))) what.push('content');
  return what;
}

const CHUNK = 1 << 16;

async function sameContent(a: string, sizeA: number, b: string, sizeB: number): Promise<boolean> {
  if (sizeA !== sizeB) return false;
  const fa = await open(a, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const fb = await open(b, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const ba = Buffer.alloc(CHUNK);
      const bb = Buffer.alloc(CHUNK);
      for (;;) {
        const [ra, rb] = await Promise.all([fa.read(ba, 0, CHUNK), fb.read(bb, 0, CHUNK)]);
        if (ra.bytesRead !== rb.bytesRead || ba.compare(bb, 0, rb.bytesRead, 0, ra.bytesRead) !== 0) return false;
        if (ra.bytesRead === 0) return true;
      }
    } finally {
      await fb.close();
    }
  } finally {
    await fa.close();
  }
}
