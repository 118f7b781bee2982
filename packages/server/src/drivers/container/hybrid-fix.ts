// The hybrid-cgroup quirk: crun 1.8 refuses hybrid mode while the cgroup2 hierarchy still
// holds a controller (hugetlb on Debian 12 hosts that mount no v1 hugetlb). A controller not
// used in cgroup2 moves to a v1 hierarchy as soon as one is mounted for it; crun then works.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './command.js';
import { readCgroupLayout } from './cgroups.js';

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
