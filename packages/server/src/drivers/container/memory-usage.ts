import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cgroupScope, readCgroupLayout, type CgroupLayout } from './cgroups.js';

/**
 * Memory charged to every sandbox of one daemon together: one read of the scope cgroup that
 * is the parent of all of them (hierarchical accounting sums the children). cgroup v2:
 * memory.current; v1: memory.usage_in_bytes. Both include page cache, as the limit does.
 * Undefined when the memory controller is not mounted or no sandbox made the scope yet.
 */
export async function scopeMemoryBytes(layout: CgroupLayout, runRoot: string): Promise<number | undefined> {
  const scope = cgroupScope(runRoot);
  const v1 = layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes('memory'));
  const v2 = layout.hierarchies.find((h) => h.version === 2);
  const file = v1 !== undefined ? join(v1.mountPoint, scope, 'memory.usage_in_bytes') : v2 !== undefined ? join(v2.mountPoint, scope, 'memory.current') : undefined;
  if (file === undefined) return undefined;
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const n = text === undefined ? NaN : Number(text.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A reader for the daemon's metrics: the cgroup layout is read once, the usage at every call. */
export function scopeMemoryReader(runRoot: string): () => Promise<number | undefined> {
  let layout: Promise<CgroupLayout> | undefined;
  return async () => scopeMemoryBytes(await (layout ??= readCgroupLayout()), runRoot);
}
