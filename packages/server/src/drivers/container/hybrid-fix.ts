// The hybrid-cgroup quirk: crun 1.8 refuses hybrid mode while the cgroup2 hierarchy still
// holds a controller (hugetlb on Debian 12 hosts that mount no v1 hugetlb). A controller not
// used in cgroup2 moves to a v1 hierarchy as soon as one is mounted for it; crun then works.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './command.js';
import { readCgroupLayout } from './cgroups.js';
import { readMounts } from './procfs.js';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Mounts a v1 hierarchy for each controller that has none yet; returns the mount points made. */
export async function moveControllersToV1(controllers: readonly string[]): Promise<string[]> {
  const layout = await readCgroupLayout();
  const made: string[] = [];
  for (const c of controllers) {
    if (!/^[a-z_]+$/.test(c)) continue;
    if (layout.hierarchies.some((h) => h.version === 1 && h.controllers.includes(c))) continue;
    const target = join(CGROUP_ROOT, c);
    await mkdir(target, { recursive: true });
    await runCommand('mount', ['-t', 'cgroup', '-o', c, 'cgroup', target]);
    made.push(target);
  }
  return made;
}

/**
 * cgroup2's `favordynmods` (Linux 6.0+): every task migration into a cgroup otherwise takes a
 * percpu rwsem for writing, which waits for an RCU grace period once the lock has gone idle;
 * the first sandbox after a pause paid ~20 ms for one cgroup.procs write (strace, this host).
 * The flag trades that for slightly dearer forks and exits. util-linux's remount keeps the
 * mount's other options (libmount merges them from mountinfo), so none is dropped.
 * Returns the mount points changed.
 */
export async function favorDynamicCgroups(): Promise<string[]> {
  const layout = await readCgroupLayout();
  const mounts = await readMounts();
  const changed: string[] = [];
  for (const h of layout.hierarchies) {
    if (h.version !== 2) continue;
    const m = mounts.find((x) => x.mountPoint === h.mountPoint);
    if (m === undefined || m.superOptions.includes('favordynmods')) continue;
    await runCommand('mount', ['-o', 'remount,favordynmods', h.mountPoint]);
    changed.push(h.mountPoint);
  }
  return changed;
}
