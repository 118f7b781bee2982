// Copies a layer directory with GNU cp, which already keeps everything overlayfs stores in an
// upper: `-a` is `-dR --preserve=all` (no symlink is followed, hardlinks stay linked, modes,
// owners — shifted ids as they are —, timestamps and xattrs including trusted.overlay.opaque
// are kept; whiteouts, character devices 0/0, are recreated by mknod), `--sparse=auto` keeps
// holes (coreutils 9 finds them with SEEK_HOLE), `--reflink=auto` shares extents where the
// filesystem can (btrfs, XFS with reflink=1) and copies the data elsewhere (ext4).
import { constants, copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ShedError } from '../../../core/errors.js';
import type { CopyMethod } from '../../../core/driver.js';
import { CommandError, runCommand } from '../command.js';

/** Reflink support by device: a filesystem does not gain or lose it while mounted. */
const reflinkByDev = new Map<number, boolean>();

/**
 * Whether files under `dir` can be cloned (FICLONE): tried once per filesystem on a 4 KiB
 * file, since `stat -f` names the filesystem but not whether it was made with reflink=1.
 */
export function reflinkSupported(dir: string): boolean {
  const dev = statSync(dir).dev;
  const known = reflinkByDev.get(dev);
  if (known !== undefined) return known;
  const tmp = mkdtempSync(join(dir, '.reflink-probe-'));
  let ok = false;
  try {
    writeFileSync(join(tmp, 'a'), Buffer.alloc(4096, 1));
    copyFileSync(join(tmp, 'a'), join(tmp, 'b'), constants.COPYFILE_FICLONE_FORCE);
    ok = true;
  } catch {
    ok = false; // EOPNOTSUPP / EXDEV / EINVAL: this filesystem cannot clone
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  reflinkByDev.set(dev, ok);
  return ok;
}

export interface CopyTreeOptions {
  signal?: AbortSignal;
  /** Kill cp past this long (the caller's frozen-time budget). @default 600000 */
  timeoutMs?: number;
  /**
   * Where the data really lives when `src` is an overlay mount (its layers): extents are
   * shared only with files on the destination's filesystem. @default [src]
   */
  dataDirs?: readonly string[];
}

/**
 * Copies `src` to `dest` (which must not exist) and reports the method. Removes a partial
 * `dest` when cp fails or is killed, so a failed capture leaves nothing behind.
 */
export async function copyTree(src: string, dest: string, opts: CopyTreeOptions = {}): Promise<CopyMethod> {
  const parent = join(dest, '..');
  const dev = statSync(parent).dev;
  // FICLONE across filesystems fails (EXDEV) and cp falls back to copying that file.
  const sameFs = (opts.dataDirs ?? [src]).every((d) => statSync(d).dev === dev);
  const method: CopyMethod = sameFs && reflinkSupported(parent) ? 'reflink' : 'copy';
  try {
    await runCommand('cp', ['-a', '--reflink=auto', '--sparse=auto', '--no-target-directory', src, dest], {
      signal: opts.signal,
      timeoutMs: opts.timeoutMs ?? 600_000,
    });
    return method;
  } catch (err) {
    rmSync(dest, { recursive: true, force: true });
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (err instanceof CommandError && err.exitCode === null) {
      throw new ShedError('unavailable', `copying ${src} took longer than ${opts.timeoutMs ?? 600_000} ms and was stopped`, { cause: err });
    }
    throw err;
  }
}

/** Allocated bytes under `dir` (du counts each hardlinked inode once; holes count nothing). */
export async function allocatedBytes(dir: string, signal?: AbortSignal): Promise<number> {
  const { stdout } = await runCommand('du', ['-s', '-x', '-B1', dir], { signal });
  const n = Number(/^(\d+)\s/.exec(stdout)?.[1]);
  if (!Number.isSafeInteger(n)) throw new ShedError('internal', `du printed no size for ${dir}: ${stdout.slice(0, 200)}`);
  return n;
}

/** Flushes the filesystem holding `path` (syncfs(2), via coreutils `sync -f`). */
export async function syncFilesystem(path: string, signal?: AbortSignal): Promise<void> {
  await runCommand('sync', ['-f', path], { signal });
}
