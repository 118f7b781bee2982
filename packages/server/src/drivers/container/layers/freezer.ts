// Freezing a sandbox through its cgroup's own files: one write and a few reads, where the
// runtime's `pause`/`resume` cost a process spawn each (5–10 ms measured here, about half of
// a small snapshot). The same files `crun pause` writes: cgroup v1 `freezer.state`, cgroup v2
// `cgroup.freeze` (with `cgroup.events` saying when every task is frozen).
//
// The files are written synchronously: cgroupfs has no disk behind it, so a write takes
// microseconds, where an async one waits for three trips through libuv's thread pool (open,
// write, close: ~0.1 ms each on a quiet host, several ms under load) — and the freeze and the
// thaw are the edges of the frozen span. Only the wait for the tasks to freeze is async.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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

/** Whether every task is frozen. */
function settledSync(f: Freezer): boolean {
  if (f.kind === 'v1') return readFileSync(f.file, 'utf8').trim() === 'FROZEN';
  return /^frozen 1$/m.test(readFileSync(join(f.file, '..', 'cgroup.events'), 'utf8'));
}

/**
 * The same, read through the thread pool: the event loop sleeps meanwhile, leaving the CPU to
 * the tasks on their way to the refrigerator (re-checking synchronously in a loop kept shedd
 * busy on a core they needed: 2–7 ms to freeze, against ~1 ms this way).
 */
async function settled(f: Freezer): Promise<boolean> {
  if (f.kind === 'v1') return (await readFile(f.file, 'utf8')).trim() === 'FROZEN';
  return /^frozen 1$/m.test(await readFile(join(f.file, '..', 'cgroup.events'), 'utf8'));
}

/** How long freeze() checks again straight away (each a thread-pool trip) before sleeping a millisecond between checks. */
const FAST_CHECKS_MS = 2;

/**
 * Freezes and waits until every task is frozen (v1 goes through FREEZING; a task in an
 * uninterruptible sleep holds it there). Past `timeoutMs` it thaws and fails `unavailable`.
 */
export async function freeze(f: Freezer, timeoutMs: number): Promise<void> {
  writeFileSync(f.file, f.kind === 'v1' ? 'FROZEN' : '1');
  // Tasks asleep where the freezer may skip them (epoll_wait, most often) count as frozen at
  // once: one synchronous look settles the common case in microseconds.
  if (settledSync(f)) return;
  const t0 = performance.now();
  while (!(await settled(f))) {
    const elapsed = performance.now() - t0;
    if (elapsed > timeoutMs) {
      await thaw(f);
      throw new ShedError('unavailable', `the sandbox did not freeze within ${timeoutMs} ms (a task stuck in the kernel?); try again`);
    }
    if (elapsed >= FAST_CHECKS_MS) await sleep(1);
  }
}

// Async for its callers' retry wrapper (snapshot.ts); the write itself is synchronous (see the top).
export async function thaw(f: Freezer): Promise<void> {
  writeFileSync(f.file, f.kind === 'v1' ? 'THAWED' : '0');
}
