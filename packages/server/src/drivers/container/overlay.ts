// The sandbox's root filesystem: an overlay of read-only lowers (the image, snapshot layers)
// under a per-sandbox writable upper. The image rootfs is never written: every change lands
// in the upper, which outlives stop so a later start continues where it left off.
import { chown, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../../core/errors.js';
import type { IdMap } from '../../core/driver.js';
import { runCommand } from './command.js';
import { mountTools } from './mount-tool.js';
import { readMounts } from './procfs.js';
import { makeTraversable } from './traverse.js';

export interface OverlayDirs {
  readonly upper: string;
  readonly work: string;
  readonly target: string;
}

export const overlayDirs = (stateDir: string): OverlayDirs => ({
  upper: join(stateDir, 'upper'),
  work: join(stateDir, 'work'),
  target: join(stateDir, 'rootfs'),
});

// overlayfs splits lowerdir on ':' and the option string on ','; such paths cannot be named.
const UNSAFE = /[:,\\\s]/;

export function checkOverlayPaths(paths: readonly string[]): void {
  for (const p of paths) {
    if (!p.startsWith('/') || UNSAFE.test(p)) {
      throw invalidArgument(`overlay path '${p}' must be absolute and contain no ':', ',', '\\' or whitespace`, { path: p });
    }
  }
}

export interface PreparedDirs {
  /** The state dir did not exist: undoing removes it whole. */
  readonly madeStateDir: boolean;
  /** The upper is new (not a restart): undoing removes upper and work. */
  readonly freshUpper: boolean;
}

/**
 * Makes the upper/work/target directories, reusing an existing upper (start after stop). A
 * fresh upper's root belongs to the mapped root (the overlay's `/` takes its owner from the
 * upper), so root inside can create files in `/`.
 */
export async function prepareOverlayDirs(stateDir: string, dirs: OverlayDirs, idMap: IdMap): Promise<PreparedDirs> {
  const madeStateDir = (await mkdir(stateDir, { recursive: true, mode: 0o711 })) !== undefined;
  if (!madeStateDir) await makeTraversable(stateDir);
  await Promise.all([mkdir(dirs.work, { recursive: true }), mkdir(dirs.target, { recursive: true })]);
  const freshUpper = await mkdir(dirs.upper, { mode: 0o755 }).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') return false;
      throw err;
    },
  );
  if (freshUpper) await chown(dirs.upper, idMap.hostId, idMap.hostId);
  return { madeStateDir, freshUpper };
}

/** Undoes prepareOverlayDirs: removes what it made, never an upper that was there before. */
export async function removePreparedDirs(stateDir: string, dirs: OverlayDirs, made: PreparedDirs): Promise<void> {
  if (made.madeStateDir) return rm(stateDir, { recursive: true, force: true });
  const doomed = made.freshUpper ? [dirs.target, dirs.upper, dirs.work] : [dirs.target];
  await Promise.all(doomed.map((d) => rm(d, { recursive: true, force: true })));
}

export async function mountOverlay(lowerDirs: readonly string[], dirs: OverlayDirs, signal?: AbortSignal): Promise<void> {
  checkOverlayPaths([...lowerDirs, dirs.upper, dirs.work, dirs.target]);
  if (lowerDirs.length === 0) throw invalidArgument('a sandbox needs at least one lower layer (the image rootfs)');
  const options = `lowerdir=${lowerDirs.join(':')},upperdir=${dirs.upper},workdir=${dirs.work}`;
  const { mount } = await mountTools();
  await runCommand(mount.file, [...mount.prefix, '-t', 'overlay', 'overlay', '-o', options, dirs.target], { signal });
}

/** Unmounts; a target not mounted is already done. Falls back to a lazy detach if busy. */
export async function unmount(target: string): Promise<void> {
  const { umount } = await mountTools();
  try {
    await runCommand(umount.file, [...umount.prefix, target]);
  } catch {
    // The tools word "not mounted" differently (util-linux: "not mounted"; busybox: EINVAL): ask the kernel.
    if (!(await isMountPoint(target))) return;
    await runCommand(umount.file, [...umount.prefix, '-l', target]);
  }
}

async function isMountPoint(path: string): Promise<boolean> {
  return (await readMounts()).some((m) => m.mountPoint === path);
}
