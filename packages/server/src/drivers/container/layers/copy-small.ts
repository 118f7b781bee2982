// Copies a small layer directory in-process, keeping what `cp -a` keeps, so capturing a small
// upper costs no process spawn inside the frozen span (a cp through the spawn helper takes ~3
// ms for two files, ~10 ms on a busy host; this copy well under 1 ms, measured here).
//
// Only trees this code can copy faithfully qualify; anything else is left to cp (copyTree):
//  - no whiteout, fifo, socket or device (Node cannot mknod);
//  - no sparse file (copyFileSync would allocate the holes) and no name that is not UTF-8
//    (Node's string paths would change it);
//  - at most SMALL_TREE entries and bytes, which also bounds the time spent frozen here.
// Kept: types, contents (FICLONE where the filesystem can clone, a copy elsewhere), hardlinks
// within the tree, owners as they are (shifted ids), modes set after the chown (which clears
// setuid bits), xattrs (trusted.overlay.opaque included, through @napi-rs/xattr, which never
// follows a symlink), access and modification times — to about a microsecond: Node's utimes
// takes a double of seconds, where cp keeps nanoseconds.
import { isUtf8 } from 'node:buffer';
import { chmodSync, constants, copyFileSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { getAttributeSync, listAttributesSync, setAttributeSync } from '@napi-rs/xattr';
import { ShedError } from '../../../core/errors.js';

export interface SmallTreeLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

/** What a small upper is: an agent's edits, not a package install. */
export const SMALL_TREE: SmallTreeLimits = { maxEntries: 256, maxBytes: 8 << 20 };

interface Entry {
  /** Relative path, '' for the root. */
  readonly rel: string;
  readonly st: Stats;
}

export interface SmallCopyOptions {
  /** @default SMALL_TREE */
  readonly limits?: SmallTreeLimits;
  /** Past this long the copy stops, removes what it wrote and fails `unavailable` (the frozen-time budget). @default no limit */
  readonly timeoutMs?: number;
}

/**
 * Copies `src` to `dest` (which must not exist) when the tree qualifies, and says whether it
 * did. On false nothing is left at `dest`: the caller copies with cp.
 */
export function copySmallTree(src: string, dest: string, opts: SmallCopyOptions = {}): boolean {
  const deadline = performance.now() + (opts.timeoutMs ?? Number.POSITIVE_INFINITY);
  const entries = plan(src, opts.limits ?? SMALL_TREE);
  if (entries === null) return false;
  try {
    const links = new Map<number, string>();
    for (const e of entries) {
      if (performance.now() > deadline) throw new ShedError('unavailable', `copying ${src} took longer than ${opts.timeoutMs} ms and was stopped`);
      copyEntry(join(src, e.rel), join(dest, e.rel), e.st, links);
    }
    // Children before their directory: writing into a directory changes its mtime.
    for (const e of [...entries].reverse()) lutimesSync(join(dest, e.rel), e.st.atimeMs / 1000, e.st.mtimeMs / 1000);
    return true;
  } catch (err) {
    rmSync(dest, { recursive: true, force: true });
    if (err instanceof ShedError) throw err;
    // Something this copy cannot reproduce (an xattr a symlink carries): cp does it right, at
    // its usual cost.
    return false;
  }
}

/** The tree in pre-order (a directory before its children), or null when it does not qualify. */
function plan(src: string, limits: SmallTreeLimits): Entry[] | null {
  const root = lstatSync(src);
  if (!root.isDirectory()) return null;
  const out: Entry[] = [{ rel: '', st: root }];
  let bytes = 0;
  for (let i = 0; i < out.length; i++) {
    const dir = out[i];
    if (dir === undefined || !dir.st.isDirectory()) continue;
    const names = readdirSync(join(src, dir.rel), { encoding: 'buffer' });
    if (out.length + names.length > limits.maxEntries || !names.every((n) => isUtf8(n))) return null;
    // Inserted right after their directory, so the walk stays in pre-order.
    const children: Entry[] = [];
    for (const name of names) {
      const rel = join(dir.rel, name.toString());
      const st = lstatSync(join(src, rel));
      if (!qualifies(st)) return null;
      bytes += st.isFile() ? st.size : 0;
      if (bytes > limits.maxBytes) return null;
      children.push({ rel, st });
    }
    out.splice(i + 1, 0, ...children);
  }
  return out;
}

export function qualifies(st: Stats): boolean {
  if (st.isDirectory() || st.isSymbolicLink()) return true;
  // Fewer blocks than bytes: a hole (a file's blocks include its delayed allocations).
  return st.isFile() && st.blocks * 512 >= st.size;
}

export function copyEntry(from: string, to: string, st: Stats, links: Map<number, string>): void {
  if (st.isDirectory()) mkdirSync(to);
  else if (st.isSymbolicLink()) symlinkSync(readlinkSync(from, { encoding: 'buffer' }), to);
  else {
    const first = st.nlink > 1 ? links.get(st.ino) : undefined;
    if (first !== undefined) return linkSync(first, to); // one inode: owner, mode, xattrs already set
    copyFileSync(from, to, constants.COPYFILE_FICLONE);
    if (st.nlink > 1) links.set(st.ino, to);
  }
  lchownSync(to, st.uid, st.gid);
  if (!st.isSymbolicLink()) chmodSync(to, st.mode & 0o7777);
  // After the chown, which drops security.capability.
  for (const name of listAttributesSync(from)) {
    const value = getAttributeSync(from, name);
    if (value !== null) setAttributeSync(to, name, value);
  }
}
