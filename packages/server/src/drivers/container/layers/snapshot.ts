// Capturing a running sandbox's writable layer: freeze, copy the upper, thaw.
//
// Why the copy is consistent: overlayfs keeps no page cache of its own for regular files —
// reads, writes and mmaps of a file copied up go to the upper's real inode (ovl_real_file), so
// the dirty pages a writer left are the upper inode's pages, and cp reading the upper directory
// directly sees exactly what the sandbox's processes see. The cgroup freezer stops every task
// of the sandbox (and io_uring workers, which are its threads) before `pause` returns, so no
// write lands during the copy: each file is captured as of the freeze, as if the sandbox had
// been powered off then. Nothing needs flushing before the copy; the new layer is flushed
// (syncfs) after the thaw, for durability only, outside the frozen span.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ShedError, errorMessage } from '../../../core/errors.js';
import type { SnapshotUpperOptions, UpperSnapshot } from '../../../core/driver.js';
import type { ContainerHandleData } from '../handles.js';
import { overlayDirs } from '../overlay.js';
import { OciRuntime } from '../runtime.js';
import { allocatedBytes, copyTree, syncFilesystem } from './copy-tree.js';

const DEFAULT_MAX_FROZEN_MS = 10_000;

/** Whether the sandbox is already frozen (a user's pause): then it is captured as it is, and left frozen. */
export function isFrozen(cgroupDirs: readonly string[]): boolean {
  for (const dir of cgroupDirs) {
    const v1 = join(dir, 'freezer.state');
    if (existsSync(v1)) return readFileSync(v1, 'utf8').trim() !== 'THAWED';
    const v2 = join(dir, 'cgroup.freeze');
    if (existsSync(v2)) return readFileSync(v2, 'utf8').trim() === '1';
  }
  return false;
}

export async function snapshotUpper(d: ContainerHandleData, destDir: string, opts: SnapshotUpperOptions = {}): Promise<UpperSnapshot> {
  if (existsSync(destDir)) throw new ShedError('already_exists', `layer directory ${destDir} already exists; a layer is written once`);
  mkdirSync(dirname(destDir), { recursive: true, mode: 0o711 });
  const maxFrozenMs = opts.maxFrozenMs ?? DEFAULT_MAX_FROZEN_MS;
  const runtime = new OciRuntime(d.runtime, d.runtimePath, d.runtimeRoot);
  const wasFrozen = isFrozen(d.cgroupDirs);
  const t0 = performance.now();
  if (!wasFrozen) await runtime.pause(d.containerId);
  const t1 = performance.now();
  let method: UpperSnapshot['method'];
  let t2 = t1;
  try {
    const left = Math.max(1, Math.ceil(maxFrozenMs - (t1 - t0)));
    method = await copyTree(overlayDirs(d.stateDir).upper, destDir, { signal: opts.signal, timeoutMs: left });
    t2 = performance.now();
  } finally {
    if (!wasFrozen) await thaw(runtime, d.containerId);
  }
  const t3 = performance.now();
  await syncFilesystem(destDir, opts.signal);
  const t4 = performance.now();
  const bytes = await allocatedBytes(destDir, opts.signal);
  return {
    bytes,
    method,
    timings: { freeze: t1 - t0, copy: t2 - t1, thaw: t3 - t2, frozen: t3 - t0, sync: t4 - t3 },
  };
}

// A thaw that fails leaves the sandbox stopped dead: try again once before saying so.
async function thaw(runtime: OciRuntime, containerId: string): Promise<void> {
  try {
    await runtime.resume(containerId);
  } catch (first) {
    try {
      await runtime.resume(containerId);
    } catch {
      throw new ShedError('internal', `sandbox ${containerId} could not be thawed after a snapshot: ${errorMessage(first)}`, { cause: first });
    }
  }
}
