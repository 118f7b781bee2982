// Freezing a sandbox through its cgroup's own files: one write and a few reads, where the
// runtime's `pause`/`resume` cost a process spawn each (5–10 ms measured here, about half of
// a small snapshot). The same files `crun pause` writes: cgroup v1 `freezer.state`, cgroup v2
// `cgroup.freeze` (with `cgroup.events` saying when every task is frozen).
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ShedError } from '../../../core/errors.js';

export interface Freezer {
  readonly kind: 'v1' | 'v2';
  /** freezer.state or cgroup.freeze. */
  readonly file: string;
}

/** The sandbox's freezer among its cgroup dirs: v1's when there is one (hybrid hosts), else v2's. */
export function findFreezer(cgroupDirs: readonly string[]): Freezer | null {
  const v1 = cgroupDirs.map((d) => join(d, 'freezer.state')).find(existsSync);
  if (v1 !== undefined) return { kind: 'v1', file: v1 };
  const v2 = cgroupDirs.map((d) => join(d, 'cgroup.freeze')).find(existsSync);
  return v2 === undefined ? null : { kind: 'v2', file: v2 };
}

export function isFrozenNow(f: Freezer): boolean {
  const v = readFileSync(f.file, 'utf8').trim(); // cgroupfs: no disk behind it
  return f.kind === 'v1' ? v !== 'THAWED' : v === '1';
}

async function settled(f: Freezer): Promise<boolean> {
  if (f.kind === 'v1') return (await readFile(f.file, 'utf8')).trim() === 'FROZEN';
  return /^frozen 1$/m.test(await readFile(join(f.file, '..', 'cgroup.events'), 'utf8'));
}

/**
 * Freezes and waits until every task is frozen (v1 goes through FREEZING; a task in an
 * uninterruptible sleep holds it there). Past `timeoutMs` it thaws and fails `unavailable`.
 */
export async function freeze(f: Freezer, timeoutMs: number): Promise<void> {
  await writeFile(f.file, f.kind === 'v1' ? 'FROZEN' : '1');
  const deadline = performance.now() + timeoutMs;
  while (!(await settled(f))) {
    if (performance.now() > deadline) {
      await thaw(f);
      throw new ShedError('unavailable', `the sandbox did not freeze within ${timeoutMs} ms (a task stuck in the kernel?); try again`);
    }
    await sleep(1);
  }
}

export async function thaw(f: Freezer): Promise<void> {
  await writeFile(f.file, f.kind === 'v1' ? 'THAWED' : '0');
}
