// Copies a layer directory with GNU cp, which already keeps everything overlayfs stores in an
// upper: `-a` is `-dR --preserve=all` (no symlink is followed, hardlinks stay linked, modes,
// owners — shifted ids as they are —, timestamps and xattrs including trusted.overlay.opaque
// are kept; whiteouts, character devices 0/0, are recreated by mknod), `--sparse=auto` keeps
// holes (coreutils 9 finds them with SEEK_HOLE), `--reflink=auto` shares extents where the
// filesystem can (btrfs, XFS with reflink=1) and copies the data elsewhere (ext4).
import { constants, copyFileSync, lstatSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ShedError } from '../../../core/errors.js';
import type { CopyMethod } from '../../../core/driver.js';
import { CommandError, runCommand } from '../command.js';
import type { Spawner } from '../spawner.js';
import { copySmallTree } from './copy-small.js';

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
  /**
   * Starts cp through the spawn helper instead of Node's spawn, which forks the daemon's whole
   * address space: a small upper's cp takes ~3 ms through it and ~7 ms through Node's spawn
   * at a daemon's heap (~100 MB), measured here. @default Node's spawn
   */
  spawner?: Spawner;
  /**
   * Copy a tree that changes under cp (a running sandbox's upper, pass 1 of a two-pass
   * capture): a file deleted between cp's readdir and its open is skipped, not an error.
   * @default false
   */
  live?: boolean;
}

/**
 * Copies `src` to `dest` (which must not exist) and reports the method: in-process when the
 * tree is small and plain enough (copy-small.ts), else with cp. Removes a partial
 * `dest` when cp fails or is killed, so a failed capture leaves nothing behind.
 */
export async function copyTree(src: string, dest: string, opts: CopyTreeOptions = {}): Promise<CopyMethod> {
  const parent = join(dest, '..');
  const dev = statSync(parent).dev;
  // FICLONE across filesystems fails (EXDEV) and cp falls back to copying that file.
  const sameFs = (opts.dataDirs ?? [src]).every((d) => statSync(d).dev === dev);
  const method: CopyMethod = sameFs && reflinkSupported(parent) ? 'reflink' : 'copy';
  // A small tree is copied in-process (copy-small.ts): no spawn while the sandbox is frozen.
  if (copySmallTree(src, dest, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs })) return method;
  const args = ['-a', '--reflink=auto', '--sparse=auto', '--no-target-directory', src, dest];
  try {
    if (opts.spawner === undefined) await runCommand('cp', args, { signal: opts.signal, timeoutMs: opts.timeoutMs ?? 600_000 });
    else await runThroughHelper(opts.spawner, 'cp', args, `${dest}.cp-log`, opts);
    return method;
  } catch (err) {
    if (opts.live === true && onlyVanished(err)) return method;
    rmSync(dest, { recursive: true, force: true });
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (err instanceof CommandError && err.exitCode === null) {
      throw new ShedError('unavailable', `copying ${src} took longer than ${opts.timeoutMs ?? 600_000} ms and was stopped`, { cause: err });
    }
    throw err;
  }
}

/** cp exited 1 having only found entries gone (`cp: cannot stat '…': No such file or directory`). */
function onlyVanished(err: unknown): boolean {
  if (!(err instanceof CommandError) || err.exitCode !== 1) return false;
  const lines = err.stderr.trim().split('\n');
  return lines.length > 0 && lines.every((l) => l.endsWith(': No such file or directory'));
}

/**
 * Copies entries (each with everything below it) into the existing directory `destDir` with
 * `cp -a`, as copyTree does: what Node cannot create (whiteouts, fifos, sparse files).
 */
export async function copyInto(srcs: readonly string[], destDir: string, opts: CopyTreeOptions = {}): Promise<void> {
  const args = ['-a', '--reflink=auto', '--sparse=auto', '-t', destDir, '--', ...srcs];
  if (opts.spawner === undefined) await runCommand('cp', args, { signal: opts.signal, timeoutMs: opts.timeoutMs ?? 600_000 });
  else await runThroughHelper(opts.spawner, 'cp', args, `${destDir}.cp-log`, opts);
}

/**
 * Runs a tool through the helper, its output to `logPath` (read for the error, then removed)
 * or discarded when null.
 */
async function runThroughHelper(spawner: Spawner, file: string, args: readonly string[], logPath: string | null, opts: CopyTreeOptions): Promise<void> {
  const late = AbortSignal.timeout(opts.timeoutMs ?? 600_000);
  try {
    const r = await spawner.run([file, ...args], logPath ?? '/dev/null', opts.signal === undefined ? late : AbortSignal.any([opts.signal, late]));
    if (r.exitCode === 0) return;
    const said = logPath === null ? '' : (await readFile(logPath, 'utf8').catch(() => '')).trim();
    const why = r.exitCode === null ? `was killed by signal ${r.signal}` : `exited with ${r.exitCode}`;
    throw new CommandError('internal', `${file} ${args.join(' ')} ${why}${said === '' ? '' : `: ${said}`}`, r.exitCode, said);
  } finally {
    if (logPath !== null) await rm(logPath, { force: true });
  }
}

/** Entries an in-process size count walks before leaving it to du. */
const MAX_COUNTED_ENTRIES = 2000;

/**
 * Allocated bytes under `dir`, counted in-process (lstat of each entry, each inode once) when
 * the tree has at most MAX_COUNTED_ENTRIES entries — a small layer's size then costs well
 * under a millisecond instead of a du spawn (~6 ms at a daemon's heap, measured here) —
 * and by du otherwise. Both count what du -sx -B1 counts: st_blocks of every entry, holes
 * nothing, hardlinked inodes once.
 */
export async function allocatedBytes(dir: string, signal?: AbortSignal): Promise<number> {
  return countAllocatedSync(dir, MAX_COUNTED_ENTRIES) ?? (await duBytes(dir, signal));
}

/** The count, or null past `maxEntries` (synchronous: it must stay short). */
export function countAllocatedSync(dir: string, maxEntries: number): number | null {
  const seen = new Set<string>();
  const root = lstatSync(dir);
  let total = root.blocks * 512;
  let entries = 0;
  const pending = [dir];
  for (let d = pending.pop(); d !== undefined; d = pending.pop()) {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      if (++entries > maxEntries) return null;
      const p = join(d, ent.name);
      const st = lstatSync(p);
      if (st.dev !== root.dev) continue; // du -x: another filesystem mounted below is not counted
      if (st.nlink > 1) {
        const key = `${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += st.blocks * 512;
      if (ent.isDirectory()) pending.push(p);
    }
  }
  return total;
}

async function duBytes(dir: string, signal?: AbortSignal): Promise<number> {
  const { stdout } = await runCommand('du', ['-s', '-x', '-B1', dir], { signal });
  const n = Number(/^(\d+)\s/.exec(stdout)?.[1]);
  if (!Number.isSafeInteger(n)) throw new ShedError('internal', `du printed no size for ${dir}: ${stdout.slice(0, 200)}`);
  return n;
}

/** Flushes the filesystem holding `path` (syncfs(2), via coreutils `sync -f`), through the helper when given. */
export async function syncFilesystem(path: string, opts: { signal?: AbortSignal; spawner?: Spawner } = {}): Promise<void> {
  if (opts.spawner === undefined) await runCommand('sync', ['-f', path], { signal: opts.signal });
  // No log: sync -f fails only when the path is gone or on an I/O error, and its status says
  // which; a log beside a layer would outlive the call that returned it (a background flush).
  else await runThroughHelper(opts.spawner, 'sync', ['-f', path], null, { ...(opts.signal ? { signal: opts.signal } : {}), timeoutMs: 600_000 });
}

/** Entries a layer may have for flushLayer to fsync them one by one rather than flush the filesystem. */
const MAX_FSYNCED_ENTRIES = 256;

/**
 * Makes the layer at `dir` durable: a small one (at most MAX_FSYNCED_ENTRIES entries, the
 * usual snapshot) by fsync of each of its files and directories and of the directory holding
 * it, in-process; a bigger one by syncfs (`syncFilesystem`). The fsyncs write what the layer
 * holds and nothing else, where syncfs writes every dirty page of the filesystem — other
 * sandboxes' and other programs' too — and costs a process start (`sync -f`) besides.
 * Symlinks and whiteouts are entries of their directory: its fsync makes them durable.
 */
export async function flushLayer(dir: string, opts: { signal?: AbortSignal; spawner?: Spawner } = {}): Promise<void> {
  const paths = smallTreePaths(dir, MAX_FSYNCED_ENTRIES);
  if (paths === null) return syncFilesystem(dir, opts);
  for (const p of [...paths, dirname(dir)]) {
    opts.signal?.throwIfAborted();
    const fh = await open(p, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

/** `dir` and the regular files and directories below it, or null past `maxEntries` entries. */
function smallTreePaths(dir: string, maxEntries: number): string[] | null {
  const out = [dir];
  let entries = 0;
  const pending = [dir];
  for (let d = pending.pop(); d !== undefined; d = pending.pop()) {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      if (++entries > maxEntries) return null;
      const p = join(d, ent.name);
      if (ent.isDirectory()) pending.push(p);
      if (ent.isDirectory() || ent.isFile()) out.push(p);
    }
  }
  return out;
}
