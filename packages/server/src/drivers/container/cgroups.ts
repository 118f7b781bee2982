// cgroup facts and chores: which mode the host is in (v2, hybrid, v1), where each hierarchy
// is mounted, which cgroups a process is in, and removing the cgroups a sandbox leaves.
import { createHash } from 'node:crypto';
import { readFileSync, rmdirSync } from 'node:fs';
import { readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readMounts, type MountEntry } from './procfs.js';

export type CgroupMode = 'v2' | 'hybrid' | 'v1';

export interface Hierarchy {
  readonly version: 1 | 2;
  /** v1: the controllers (and `name=…`) bound to it; v2: empty. */
  readonly controllers: readonly string[];
  readonly mountPoint: string;
}

export interface CgroupLayout {
  readonly mode: CgroupMode;
  readonly hierarchies: readonly Hierarchy[];
}

const V1_CONTROLLERS = new Set(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'hugetlb', 'net_cls', 'net_prio', 'perf_event', 'rdma', 'misc']);

export function layoutFromMounts(mounts: readonly MountEntry[]): CgroupLayout {
  const hierarchies: Hierarchy[] = [];
  for (const m of mounts) {
    if (m.fsType === 'cgroup2') hierarchies.push({ version: 2, controllers: [], mountPoint: m.mountPoint });
    if (m.fsType !== 'cgroup') continue;
    const controllers = m.superOptions.filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name='));
    hierarchies.push({ version: 1, controllers, mountPoint: m.mountPoint });
  }
  const hasV1 = hierarchies.some((h) => h.version === 1 && h.controllers.some((c) => V1_CONTROLLERS.has(c)));
  const hasV2 = hierarchies.some((h) => h.version === 2);
  const mode: CgroupMode = hasV1 ? (hasV2 ? 'hybrid' : 'v1') : 'v2';
  return { mode, hierarchies };
}

export async function readCgroupLayout(): Promise<CgroupLayout> {
  return layoutFromMounts(await readMounts());
}

/** Controllers the cgroup2 hierarchy holds in hybrid mode (crun 1.8 refuses to run while any are listed). */
export async function hybridV2Controllers(layout: CgroupLayout): Promise<string[]> {
  const v2 = layout.hierarchies.find((h) => h.version === 2);
  if (layout.mode !== 'hybrid' || v2 === undefined) return [];
  const text = await readFile(join(v2.mountPoint, 'cgroup.controllers'), 'utf8').catch(() => '');
  return text.split(/\s+/).filter((c) => c !== '');
}

/**
 * The cgroup parent of every sandbox of one daemon, keyed by its run root: two daemons (or two
 * test runs) never share one, so an orphan sweep only ever touches its own daemon's cgroups.
 */
export function cgroupScope(runRoot: string): string {
  return `/shed/d-${createHash('sha256').update(runRoot).digest('hex').slice(0, 12)}`;
}

export const containerIdFor = (sandboxId: string): string => `shed-${sandboxId}`;

/**
 * Absolute cgroup directories of a process, one per hierarchy, from /proc/<pid>/cgroup
 * ("id:controllers:path"). Read rather than derived: runtimes differ in where they put a
 * relative path, and the kernel's answer is the one teardown must act on.
 */
export function cgroupDirsFromProcText(text: string, layout: CgroupLayout): string[] {
  const dirs = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(\/.*)$/.exec(line);
    if (m === null || m[1] === undefined || m[2] === undefined) continue;
    const wanted = m[1] === '' ? [] : m[1].split(',');
    const h = layout.hierarchies.find((x) =>
      wanted.length === 0 ? x.version === 2 : x.version === 1 && wanted.every((c) => x.controllers.includes(c)));
    if (h !== undefined) dirs.add(join(h.mountPoint, m[2]));
  }
  return [...dirs].sort();
}

export async function cgroupDirsOf(pid: number, layout: CgroupLayout): Promise<string[]> {
  return cgroupDirsFromProcText(await readFile(`/proc/${pid}/cgroup`, 'utf8'), layout);
}

/** Pids in a cgroup (empty when it is gone). Synchronous: cgroupfs has no disk behind it. */
export async function cgroupPids(dir: string): Promise<number[]> {
  let text = '';
  try {
    text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    /* gone */
  }
  return text.split('\n').filter((l) => l !== '').map(Number);
}

/** Removes cgroup directories, children first; a missing one is already done. */
export async function removeCgroupTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => null);
  if (entries === null) return;
  for (const e of entries) if (e.isDirectory()) await removeCgroupTree(join(dir, e.name));
  await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** Every `<hierarchy>/<scope>` directory: where one daemon's sandbox cgroups live. */
export function scopeDirs(layout: CgroupLayout, scope: string): string[] {
  return layout.hierarchies.map((h) => join(h.mountPoint, scope));
}

/**
 * Removes this daemon's scope dirs (`<hierarchy>/shed/d-<hash>`) that are empty, so none is
 * left behind once its last sandbox goes. Synchronous on purpose: `mayRemove` (no create in
 * flight) and the rmdir happen in one turn of the event loop, so no create of this daemon can
 * start in between and find its parent gone. A scope still holding a sandbox's cgroup fails
 * with EBUSY/ENOTEMPTY and stays. The shared `/shed` parent stays: other daemons use it.
 */
export function removeEmptyScope(layout: CgroupLayout, runRoot: string, mayRemove: () => boolean): string[] {
  if (!mayRemove()) return [];
  const removed: string[] = [];
  for (const dir of scopeDirs(layout, cgroupScope(runRoot))) {
    try {
      rmdirSync(dir); // cgroupfs: no disk behind it
      removed.push(dir);
    } catch {
      /* not empty (a sandbox's cgroup remains), or never made in this hierarchy */
    }
  }
  return removed;
}
