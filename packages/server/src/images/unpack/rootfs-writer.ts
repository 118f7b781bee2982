import { constants, type BigIntStats } from 'node:fs';
import { type FileHandle, lchown, link, lstat, lutimes, mkdir, open, opendir, rm, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument, type ShedError } from '../../core/errors.js';
import { isErrno } from '../fs-util.js';
import { printable } from './entry-path.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = constants;

/** Host ownership and metadata of one entry (ids already shifted into the sandbox range). */
export interface EntryMeta {
  readonly uid: number;
  readonly gid: number;
  /** Permission bits including setuid, setgid and sticky. */
  readonly mode: number;
  readonly mtime: Date;
}

export function hostile(entry: string, reason: string): ShedError {
  return invalidArgument(`entry '${printable(entry)}' ${reason}`, { entry });
}

/**
 * Writes entries into a rootfs that nobody else touches while it is being built, without
 * ever following a symlink: every parent component is lstat'ed (and remembered as a real
 * directory), files are created with O_CREAT|O_EXCL|O_NOFOLLOW after whatever was at their
 * path is unlinked (so a write never goes through an existing hardlink or symlink), and
 * ownership and times are set on the file descriptor or with lchown/lutimes. Directory
 * mtimes are set at the end, once no more children are added.
 */
export class RootfsWriter {
  /** Relative paths known to be real directories ('' is the root). */
  private readonly dirs = new Set<string>(['']);
  /** Relative paths written by the current layer: an opaque whiteout keeps only these. */
  private created = new Set<string>();
  private readonly dirTimes = new Map<string, Date>();

  constructor(
    readonly root: string,
    private readonly rootOwner: { uid: number; gid: number },
  ) {}

  /** `exists`: the root is there already (a clone to write over); it is not made anew. */
  async init(opts: { exists?: boolean } = {}): Promise<void> {
    if (opts.exists !== true) await mkdir(this.root, { mode: 0o755 });
    await lchown(this.root, this.rootOwner.uid, this.rootOwner.gid);
  }

  beginLayer(): void {
    this.created = new Set();
  }

  private abs(parts: readonly string[]): string {
    return parts.length === 0 ? this.root : join(this.root, ...parts);
  }

  /** Makes every parent of `parts` a real directory, creating missing ones as root-owned 0755. */
  private async ensureParents(parts: readonly string[], entry: string): Promise<void> {
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (this.dirs.has(rel)) continue;
      const st = await lstatOrUndefined(this.abs(parts.slice(0, i)));
      if (st === undefined) {
        await mkdir(this.abs(parts.slice(0, i)), { mode: 0o755 });
        await lchown(this.abs(parts.slice(0, i)), this.rootOwner.uid, this.rootOwner.gid);
        this.created.add(rel);
      } else if (st.isSymbolicLink()) {
        throw hostile(entry, `has a parent '${printable(rel)}' that is a symlink; refusing to write through it`);
      } else if (!st.isDirectory()) {
        throw hostile(entry, `has a parent '${printable(rel)}' that is not a directory`);
      }
      this.dirs.add(rel);
    }
  }

  /** Like ensureParents without creating anything: false when a parent is missing. */
  private async parentsExist(parts: readonly string[], entry: string): Promise<boolean> {
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (this.dirs.has(rel)) continue;
      const st = await lstatOrUndefined(this.abs(parts.slice(0, i)));
      if (st === undefined) return false;
      if (st.isSymbolicLink()) throw hostile(entry, `has a parent '${printable(rel)}' that is a symlink; refusing to follow it`);
      if (!st.isDirectory()) return false;
      this.dirs.add(rel);
    }
    return true;
  }

  /** Removes what is at `parts` unless both it and the new entry are directories (then they merge). */
  private async clear(parts: readonly string[], newIsDir: boolean, entry: string): Promise<void> {
    if (parts.length === 0) {
      if (!newIsDir) throw hostile(entry, 'names the rootfs itself but is not a directory');
      return;
    }
    const st = await lstatOrUndefined(this.abs(parts));
    if (st === undefined || (st.isDirectory() && newIsDir)) return;
    if (st.isDirectory()) {
      await rm(this.abs(parts), { recursive: true, force: true });
      this.forget(parts.join('/'));
    } else {
      await unlink(this.abs(parts));
    }
  }

  private forget(rel: string): void {
    for (const d of this.dirs) if (d === rel || d.startsWith(`${rel}/`)) this.dirs.delete(d);
  }

  private async prepare(parts: readonly string[], newIsDir: boolean, entry: string): Promise<string> {
    await this.ensureParents(parts, entry);
    await this.clear(parts, newIsDir, entry);
    this.created.add(parts.join('/'));
    return this.abs(parts);
  }

  async writeFile(parts: readonly string[], data: AsyncIterable<unknown>, meta: EntryMeta, entry: string): Promise<void> {
    const path = await this.prepare(parts, false, entry);
    const fh = await open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of data) {
        // tar-stream's entry streams yield Uint8Array chunks (b4a buffers).
        if (!(chunk instanceof Uint8Array)) throw new TypeError('tar entry stream yielded a non-binary chunk');
        await writeAll(fh, chunk);
      }
      // chown before chmod: chown clears setuid/setgid bits (kernel behaviour, even for root).
      await fh.chown(meta.uid, meta.gid);
      await fh.chmod(meta.mode);
      await fh.utimes(meta.mtime, meta.mtime);
    } finally {
      await fh.close();
    }
  }

  async makeDir(parts: readonly string[], meta: EntryMeta, entry: string): Promise<void> {
    const path = await this.prepare(parts, true, entry);
    await mkdir(path, { mode: 0o700 }).catch((err: unknown) => {
      if (!isErrno(err, 'EEXIST')) throw err;
    });
    const fh = await open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      await fh.chown(meta.uid, meta.gid);
      await fh.chmod(meta.mode);
    } finally {
      await fh.close();
    }
    this.dirs.add(parts.join('/'));
    this.dirTimes.set(parts.join('/'), meta.mtime);
  }

  async makeSymlink(parts: readonly string[], target: string, meta: EntryMeta, entry: string): Promise<void> {
    const path = await this.prepare(parts, false, entry);
    await symlink(target, path);
    await lchown(path, meta.uid, meta.gid);
    await lutimes(path, meta.mtime, meta.mtime);
  }

  /** A hardlink to an existing non-directory inside the rootfs, found without following symlinks. */
  async makeHardlink(parts: readonly string[], target: readonly string[], entry: string): Promise<void> {
    if (parts.join('/') === target.join('/')) return;
    if (target.length === 0 || !(await this.parentsExist(target, entry))) {
      throw hostile(entry, `is a hardlink to '${printable(target.join('/'))}', which does not exist in the rootfs`);
    }
    const st = await lstatOrUndefined(this.abs(target));
    if (st === undefined) throw hostile(entry, `is a hardlink to '${printable(target.join('/'))}', which does not exist in the rootfs`);
    if (st.isDirectory()) throw hostile(entry, 'is a hardlink to a directory');
    const path = await this.prepare(parts, false, entry);
    // link(2) does not follow a symlink at its source on Linux: a link to a symlink links the symlink.
    await link(this.abs(target), path);
  }

  /** Whiteout: removes a path from lower layers (nothing to do when it is not there). */
  async remove(parts: readonly string[], entry: string): Promise<void> {
    if (parts.length === 0 || !(await this.parentsExist(parts, entry))) return;
    await rm(this.abs(parts), { recursive: true, force: true });
    this.forget(parts.join('/'));
  }

  /** Opaque whiteout: removes everything in `dir` that the current layer did not write. */
  async opaque(dir: readonly string[], entry: string): Promise<void> {
    if (!(await this.parentsExist([...dir, 'x'], entry))) return;
    const st = await lstatOrUndefined(this.abs(dir));
    if (st === undefined || !st.isDirectory()) return;
    await this.removeNotCreated(dir);
  }

  private async removeNotCreated(dir: readonly string[]): Promise<void> {
    for await (const ent of await opendir(this.abs(dir))) {
      const child = [...dir, ent.name];
      const rel = child.join('/');
      if (!this.created.has(rel)) {
        await rm(this.abs(child), { recursive: true, force: true });
        this.forget(rel);
      } else if (ent.isDirectory()) {
        await this.removeNotCreated(child);
      }
    }
  }

  /**
   * Sets directory mtimes (now that no child will be added) and returns the tree's allocated
   * bytes, each inode once. Walks real directories only.
   */
  async finish(): Promise<number> {
    const seen = new Set<bigint>();
    return this.walk([], seen);
  }

  private async walk(dir: readonly string[], seen: Set<bigint>): Promise<number> {
    let total = 0;
    for await (const ent of await opendir(this.abs(dir))) {
      const child = [...dir, ent.name];
      const st = await lstat(this.abs(child), { bigint: true });
      total += countOnce(st, seen);
      if (st.isDirectory()) total += await this.walk(child, seen);
    }
    const rootSt = dir.length === 0 ? await lstat(this.root, { bigint: true }) : undefined;
    if (rootSt) total += countOnce(rootSt, seen);
    const time = this.dirTimes.get(dir.join('/'));
    if (time !== undefined) await lutimes(this.abs(dir), time, time);
    return total;
  }
}

/** FileHandle.write may write less than asked; loop until the chunk is on disk. */
async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
}

function countOnce(st: BigIntStats, seen: Set<bigint>): number {
  if (seen.has(st.ino)) return 0;
  seen.add(st.ino);
  return Number(st.blocks) * 512;
}

async function lstatOrUndefined(path: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}
