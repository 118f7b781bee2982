// The second pass of a big upper's capture. Pass 1 (snapshot.ts) records the upper's entries
// (recordTree), then copies it with cp while the sandbox runs; the sandbox is then frozen and
// catchUp brings that copy to exactly the upper's state: entries changed since the record are
// copied again, entries gone are removed, directory metadata is set again. The frozen span
// then scales with what changed during pass 1, not with the upper (~10,000 files of a git
// repository: 0.8–2.4 s frozen with one frozen cp on this host).
//
// Why not rsync: its quick check compares size and mtime, and a process in the sandbox can
// set an mtime back (touch -d) after changing a file; `--checksum` reads every file, frozen.
//
// What "changed" means, and why it cannot be fooled from inside the sandbox: an entry is
// copied again when its path was not recorded, or its inode number, type, size or ctime differ
// from the record, or its ctime is not older than the record's start (less CLOCK_SLACK). The
// ctime of an inode is set by the kernel to the current time on every change — a write, a
// chmod, chown, an xattr, a link or unlink of one of its names, a rename of it (ext4, XFS,
// btrfs, tmpfs) — and no syscall sets it to anything else; only the host's clock could,
// which a sandbox cannot change. Every name of a hardlinked inode shares its ctime, so a
// hardlink group is copied again as a whole or not at all. The slack covers the kernel's
// coarse clock (one jiffy behind the fine one) and filesystems that keep whole seconds.
// A directory's listing in the copy is compared with the upper's in every directory (one
// readdir each), so an entry pass 1 missed (cp skips a file deleted under it) is copied too.
// Not carried over: an atime changed by a read after pass 1 copied the file (a read does not
// change ctime); cp's own atimes are no more exact.
import { isUtf8 } from 'node:buffer';
import { chmodSync, lchownSync, lstatSync, lutimesSync, mkdirSync, readdirSync, rmSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { getAttributeSync, listAttributesSync, removeAttributeSync, setAttributeSync } from '@napi-rs/xattr';
import { ShedError } from '../../../core/errors.js';
import { copyEntry, qualifies } from './copy-small.js';

interface Seen {
  readonly ino: number;
  /** Type bits and permissions (st_mode). */
  readonly mode: number;
  readonly size: number;
  readonly ctimeMs: number;
}

/** What pass 1 started from: each entry's stat, by relative path ('' the root). */
export interface TreeRecord {
  readonly startedMs: number;
  readonly slackMs: number;
  readonly entries: ReadonlyMap<string, Seen>;
}

/** Fine-grained ctimes lag the fine clock by a jiffy (≤ 10 ms); 4 × that, to be safe. */
const FINE_SLACK_MS = 40;
/** A filesystem that keeps whole seconds (ext4 with 128-byte inodes) truncates a ctime by up to 1 s. */
const SECONDS_SLACK_MS = 2000;

/**
 * The tree's entries before pass 1 copies it (unfrozen: the sandbox runs), or null when a
 * name is not UTF-8 (Node's string paths would change it: the caller copies frozen, with cp).
 */
export function recordTree(src: string): TreeRecord | null {
  const startedMs = Date.now();
  const root = lstatSync(src, { bigint: true });
  const slackMs = root.ctimeNs % 1_000_000_000n === 0n ? SECONDS_SLACK_MS : FINE_SLACK_MS;
  const entries = new Map<string, Seen>();
  const pending = [''];
  entries.set('', seen(lstatSync(src)));
  for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
    const names = listNames(join(src, rel), rel !== '');
    if (names === null) return null;
    for (const name of names) {
      const r = join(rel, name);
      const st = lstatSync(join(src, r), { throwIfNoEntry: false });
      if (st === undefined) continue; // deleted under the walk: pass 2 sees it gone
      entries.set(r, seen(st));
      if (st.isDirectory()) pending.push(r);
    }
  }
  return { startedMs, slackMs, entries };
}

const seen = (st: Stats): Seen => ({ ino: st.ino, mode: st.mode, size: st.size, ctimeMs: st.ctimeMs });

/**
 * The names in `dir`, or null when one is not UTF-8. `mayVanish`: the tree is live (pass 1's
 * record), and a directory removed or replaced since its parent was read lists as empty.
 */
function listNames(dir: string, mayVanish = false): string[] | null {
  let names: Buffer[];
  try {
    names = readdirSync(dir, { encoding: 'buffer' });
  } catch (err) {
    if (!mayVanish || !isGone(err)) throw err;
    return [];
  }
  return names.every((n) => isUtf8(n)) ? names.map((n) => n.toString()) : null;
}

const isGone = (err: unknown): boolean => err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'ENOTDIR');

/** What pass 2 did, for the timings; or 'unfit' when only a whole frozen cp can do it right. */
export type CatchUp = { copied: number; removed: number; special: Map<string, string[]>; touched: string[] } | 'unfit';

export interface CatchUpOptions {
  /** performance.now() past which the pass stops and fails `unavailable` (the frozen budget). */
  readonly deadline: number;
}

/**
 * Pass 2, run frozen: makes `dest` (pass 1's copy of `src`) equal to `src` as it is now.
 * Entries Node cannot create (whiteouts and other devices, fifos, sockets, sparse files) are
 * removed from `dest` and returned in `special` (destination directory → source paths) for the
 * caller to copy with cp, one call per directory; directory times are set after that by
 * `settleTimes`.
 */
export function catchUp(src: string, dest: string, record: TreeRecord, opts: CatchUpOptions): CatchUp {
  const w = new Walk(src, dest, record, opts.deadline);
  const root = lstatSync(src);
  if (w.changed('', root)) w.fixDir('', root);
  return w.dir('') ? { copied: w.copied, removed: w.removed, special: w.special, touched: [...w.touched] } : 'unfit';
}

/** Sets the times of every directory pass 2 wrote into, deepest first (a write changes its parent's mtime). */
export function settleTimes(src: string, dest: string, dirs: readonly string[]): void {
  const depth = (rel: string): number => (rel === '' ? 0 : rel.split('/').length);
  for (const rel of [...dirs].sort((a, b) => depth(b) - depth(a))) {
    const st = lstatSync(join(src, rel));
    lutimesSync(join(dest, rel), st.atimeMs / 1000, st.mtimeMs / 1000);
  }
}

class Walk {
  copied = 0;
  removed = 0;
  readonly special = new Map<string, string[]>();
  /** Directories of `dest` written into or re-set: their times are set last. */
  readonly touched = new Set<string>();
  readonly #links = new Map<number, string>();

  constructor(readonly src: string, readonly dest: string, readonly record: TreeRecord, readonly deadline: number) {}

  changed(rel: string, st: Stats): boolean {
    const s = this.record.entries.get(rel);
    if (s === undefined || s.ino !== st.ino || s.mode !== st.mode || s.size !== st.size || s.ctimeMs !== st.ctimeMs) return true;
    return st.ctimeMs >= this.record.startedMs - this.record.slackMs;
  }

  /** Brings directory `rel` (present in both trees) up to date; false when unfit. */
  dir(rel: string): boolean {
    const names = listNames(join(this.src, rel));
    if (names === null) return false;
    const inSrc = new Set(names);
    const inDest = new Set(readdirSync(join(this.dest, rel)));
    for (const name of inDest) {
      if (inSrc.has(name)) continue;
      rmSync(join(this.dest, rel, name), { recursive: true, force: true });
      inDest.delete(name);
      this.removed++;
      this.touched.add(rel);
    }
    for (const name of names) {
      if (performance.now() > this.deadline) throw new ShedError('unavailable', `bringing the copy of ${this.src} up to date took too long frozen and was stopped`);
      const r = join(rel, name);
      const cst = lstatSync(join(this.src, r));
      const present = inDest.has(name);
      if (present && !this.changed(r, cst)) {
        if (cst.isDirectory() && !this.dir(r)) return false;
        continue;
      }
      if (present && cst.isDirectory() && lstatSync(join(this.dest, r)).isDirectory()) {
        this.fixDir(r, cst); // its entries are compared below; only its own metadata is redone
        if (!this.dir(r)) return false;
        continue;
      }
      if (!this.entry(rel, r, cst)) return false;
    }
    return true;
  }

  /** Copies one changed entry again (a directory with everything below it). */
  entry(parent: string, rel: string, st: Stats): boolean {
    const to = join(this.dest, rel);
    rmSync(to, { recursive: true, force: true });
    this.touched.add(parent);
    this.copied++;
    // An unchanged inode under a new name (a renamed directory's hardlinked file): its other
    // names' copies are not at hand here.
    if (!st.isDirectory() && st.nlink > 1 && st.ctimeMs < this.record.startedMs - this.record.slackMs) return false;
    if (st.isDirectory()) {
      mkdirSync(to);
      this.fixDir(rel, st);
      return this.dir(rel);
    }
    if (!qualifies(st)) {
      if (st.nlink > 1) return false; // cp, one call per directory, would not link names in two directories
      const dir = join(this.dest, parent);
      this.special.set(dir, [...(this.special.get(dir) ?? []), join(this.src, rel)]);
      return true;
    }
    copyEntry(join(this.src, rel), to, st, this.#links);
    lutimesSync(to, st.atimeMs / 1000, st.mtimeMs / 1000);
    return true;
  }

  /** A directory's owner, mode and xattrs (trusted.overlay.opaque among them) set again. */
  fixDir(rel: string, st: Stats): void {
    const from = join(this.src, rel);
    const to = join(this.dest, rel);
    lchownSync(to, st.uid, st.gid);
    chmodSync(to, st.mode & 0o7777);
    const want = new Set(listAttributesSync(from));
    for (const name of listAttributesSync(to)) if (!want.has(name)) removeAttributeSync(to, name);
    for (const name of want) {
      const value = getAttributeSync(from, name);
      if (value !== null) setAttributeSync(to, name, value);
    }
    this.touched.add(rel);
  }
}
