// Capturing a running sandbox's writable layer: freeze, copy the upper, thaw.
//
// Why the copy is consistent: overlayfs keeps no page cache of its own for regular files —
// reads, writes and mmaps of a file copied up go to the upper's real inode (ovl_real_file), so
// the dirty pages a writer left are the upper inode's pages, and cp reading the upper directory
// directly sees exactly what the sandbox's processes see. The cgroup freezer stops every task
// of the sandbox (and io_uring workers, which are its threads) before freeze() returns (v1
// freezer.state reads FROZEN, v2 cgroup.events says `frozen 1`), so no
// write lands during the copy: each file is captured as of the freeze, as if the sandbox had
// been powered off then. Nothing needs flushing before the copy; the new layer is flushed
// (syncfs) after the thaw, for durability only, outside the frozen span — in the background
// when the caller asks (a snapshot's row does not wait for it: see docs/snapshots.md).
// A big upper (TWO_PASS_MIN_ENTRIES or more) is copied in two passes (two-pass.ts): unfrozen
// first, then frozen only to catch up with what changed meanwhile; the walks of both passes
// run in a worker thread (walk.ts), off the event loop.
import { existsSync, mkdirSync, readdirSync, rmSync, type Dirent } from 'node:fs';
import { dirname } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ShedError, errorMessage } from '../../../core/errors.js';
import { faultPoint } from '../../../core/faults.js';
import type { CopyMethod, SnapshotUpperOptions, UpperSnapshot } from '../../../core/driver.js';
import type { ContainerHandleData } from '../handles.js';
import { overlayDirs } from '../overlay.js';
import { OciRuntime } from '../runtime.js';
import { allocatedBytes, copyInto, copyTree, flushLayer } from './copy-tree.js';
import { findFreezer, freeze, isFrozenNow, thaw } from './freezer.js';
import type { Spawner } from '../spawner.js';
import { settleTimes, type CatchUp, type TreeRecord } from './two-pass.js';
import { TreeWalk } from './walk.js';

const DEFAULT_MAX_FROZEN_MS = 10_000;

export type CaptureOptions = SnapshotUpperOptions & { spawner?: Spawner };

export async function snapshotUpper(d: ContainerHandleData, destDir: string, opts: CaptureOptions = {}): Promise<UpperSnapshot> {
  if (existsSync(destDir)) throw new ShedError('already_exists', `layer directory ${destDir} already exists; a layer is written once`);
  mkdirSync(dirname(destDir), { recursive: true, mode: 0o711 });
  const upper = overlayDirs(d.stateDir).upper;
  const maxFrozenMs = opts.maxFrozenMs ?? DEFAULT_MAX_FROZEN_MS;
  const t0 = performance.now();
  if (hasEntries(upper, TWO_PASS_MIN_ENTRIES)) {
    const walk = TreeWalk.start();
    try {
      if (await walk.record(upper, opts.signal)) return await twoPass(d, { upper, destDir, walk, t0 }, maxFrozenMs, opts);
    } finally {
      await walk.close();
    }
  }
  const { value: method, frozen } = await whileFrozen(d, maxFrozenMs, (timeoutMs) =>
    copyTree(upper, destDir, { ...toolOptions(opts), timeoutMs }));
  return finishLayer(destDir, method, frozen, opts);
}

/**
 * Uppers with fewer entries are copied frozen in one pass: cp of 1,000 small files takes
 * ~50 ms here, and a small upper's in-process copy (copy-small.ts) well under 1 ms — less
 * than the record walk two passes would add.
 */
const TWO_PASS_MIN_ENTRIES = 1000;

/** Whether `dir` holds at least `n` entries (readdir only, stopping at n: cheap for a small upper). */
function hasEntries(dir: string, n: number): boolean {
  let count = 0;
  // Buffers: a name that is not UTF-8 would not survive a string path.
  const pending = [Buffer.from(dir)];
  for (let p = pending.pop(); p !== undefined; p = pending.pop()) {
    let ents: Dirent<Buffer>[];
    try {
      ents = readdirSync(p, { withFileTypes: true, encoding: 'buffer' });
    } catch {
      continue; // removed under the count (the sandbox runs): it only counts fewer
    }
    for (const ent of ents) {
      if (++count >= n) return true;
      if (ent.isDirectory()) pending.push(Buffer.concat([p, Buffer.from('/'), ent.name]));
    }
  }
  return false;
}

/**
 * Pass 2 (the sandbox frozen): brings `dest`, pass 1's copy of `src` after `record`, up to
 * `src` as it is now, within `timeoutMs`; what it cannot do in-process is copied again whole.
 * The walk runs in a worker thread (walk.ts): the one holding the record, or, given a record
 * taken in-process, a worker started for this call.
 */
export async function catchUpCopy(src: string, dest: string, record: TreeRecord | TreeWalk, opts: { timeoutMs: number; signal?: AbortSignal; spawner?: Spawner }): Promise<void> {
  const deadline = performance.now() + opts.timeoutMs;
  const left = (): number => Math.max(1, Math.ceil(deadline - performance.now()));
  const walk = record instanceof TreeWalk ? record : await TreeWalk.load(record, opts.signal);
  let r: CatchUp;
  try {
    r = await walk.catchUp(src, dest, { deadline, ...(opts.signal ? { signal: opts.signal } : {}) });
  } finally {
    if (walk !== record) await walk.close();
  }
  if (r === 'unfit') {
    rmSync(dest, { recursive: true, force: true });
    await copyTree(src, dest, { ...opts, timeoutMs: left() });
    return;
  }
  for (const [dir, srcs] of r.special) await copyInto(srcs, dir, { ...opts, timeoutMs: left() });
  settleTimes(src, dest, r.touched);
}

/** Pass 1 unfrozen (cp of the live upper), pass 2 frozen (two-pass.ts). */
async function twoPass(d: ContainerHandleData, p: { upper: string; destDir: string; walk: TreeWalk; t0: number }, maxFrozenMs: number, opts: CaptureOptions): Promise<UpperSnapshot> {
  const { upper, destDir, walk, t0 } = p;
  const method = await copyTree(upper, destDir, { ...toolOptions(opts), live: true });
  const prepass = performance.now() - t0;
  try {
    const { frozen } = await whileFrozen(d, maxFrozenMs, async (timeoutMs) => {
      await catchUpCopy(upper, destDir, walk, { ...toolOptions(opts), timeoutMs });
      return method;
    });
    return finishLayer(destDir, method, { ...frozen, prepass }, opts);
  } catch (err) {
    rmSync(destDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Captures a writable layer nothing writes to (a stopped sandbox's upper: no process runs and
 * nothing has it mounted) into `destDir`, with the same copy as a running one but no freeze.
 */
export async function captureStoppedUpper(upperDir: string, destDir: string, opts: CaptureOptions = {}): Promise<UpperSnapshot> {
  if (existsSync(destDir)) throw new ShedError('already_exists', `layer directory ${destDir} already exists; a layer is written once`);
  mkdirSync(dirname(destDir), { recursive: true, mode: 0o711 });
  if (!existsSync(upperDir)) {
    // Stopped since a rollback, before its next start makes a fresh upper: it changed nothing.
    mkdirSync(destDir, { mode: 0o755 });
    return finishLayer(destDir, 'copy', { freeze: 0, copy: 0, thaw: 0, frozen: 0 }, opts);
  }
  const t0 = performance.now();
  const method = await copyTree(upperDir, destDir, toolOptions(opts));
  return finishLayer(destDir, method, { freeze: 0, copy: performance.now() - t0, thaw: 0, frozen: 0 }, opts);
}

const toolOptions = (opts: CaptureOptions): { signal?: AbortSignal; spawner?: Spawner } =>
  ({ ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.spawner ? { spawner: opts.spawner } : {}) });

/** After the copy (and the thaw): the layer's size, then its flush as `opts.flush` asks. */
async function finishLayer(destDir: string, method: CopyMethod, copied: Frozen<unknown>['frozen'] & { prepass?: number }, opts: CaptureOptions): Promise<UpperSnapshot> {
  const t0 = performance.now();
  const bytes = await allocatedBytes(destDir, opts.signal);
  const timings = { ...copied, size: performance.now() - t0 };
  const flush = opts.flush ?? 'wait';
  if (flush === 'none') return { bytes, method, timings, flushed: Promise.resolve({ syncMs: 0 }) };
  // For durability only: nothing reads the layer through the disk, so a caller may go on first.
  // In the background it starts on the event loop's next turn, once the caller's reply is out.
  if (flush === 'background') return { bytes, method, timings, flushed: nextTurn().then(() => timed(() => flushLayer(destDir, toolOptions(opts)))) };
  const flushed = timed(() => flushLayer(destDir, toolOptions(opts)));
  const r = await flushed;
  if ('error' in r) throw r.error;
  return { bytes, method, timings: { ...timings, sync: r.syncMs }, flushed };
}

async function timed(fn: () => Promise<void>): Promise<{ syncMs: number } | { error: unknown }> {
  const t0 = performance.now();
  try {
    await fn();
    return { syncMs: performance.now() - t0 };
  } catch (error) {
    return { error };
  }
}

export interface Frozen<T> {
  readonly value: T;
  readonly frozen: { freeze: number; copy: number; thaw: number; frozen: number };
}

/**
 * Runs `fn` with the sandbox frozen, giving it what is left of `maxFrozenMs`, and thaws —
 * always, also when `fn` fails. A sandbox already frozen (a user's pause) is left frozen.
 */
export async function whileFrozen<T>(d: ContainerHandleData, maxFrozenMs: number, fn: (timeoutMs: number) => Promise<T>): Promise<Frozen<T>> {
  const gate = freezeGate(d, maxFrozenMs);
  const wasFrozen = gate.isFrozen();
  const t0 = performance.now();
  if (!wasFrozen) await gate.freeze();
  const t1 = performance.now();
  let value: T;
  let t2 = t1;
  try {
    faultPoint('snapshot.while-frozen');
    value = await fn(Math.max(1, Math.ceil(maxFrozenMs - (t1 - t0))));
    t2 = performance.now();
  } finally {
    if (!wasFrozen) await gate.thaw();
  }
  const t3 = performance.now();
  return { value, frozen: { freeze: t1 - t0, copy: t2 - t1, thaw: t3 - t2, frozen: t3 - t0 } };
}

/**
 * Thaws a sandbox a crashed shedd left frozen (it died inside whileFrozen, which had frozen a
 * running sandbox). Only the cgroup freezer is looked at: the runtime's pause writes the same
 * files. Returns whether it was frozen.
 */
export async function thawIfFrozen(d: ContainerHandleData): Promise<boolean> {
  const f = findFreezer(d.cgroupDirs);
  if (f === null || !isFrozenNow(f)) return false;
  await retryOnce(() => thaw(f), d.containerId);
  return true;
}

interface FreezeGate {
  isFrozen(): boolean;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
}

/** The cgroup's freezer files when found; the runtime's pause/resume otherwise. */
function freezeGate(d: ContainerHandleData, maxFrozenMs: number): FreezeGate {
  const f = findFreezer(d.cgroupDirs);
  if (f !== null) return { isFrozen: () => isFrozenNow(f), freeze: () => freeze(f, maxFrozenMs), thaw: () => retryOnce(() => thaw(f), d.containerId) };
  const runtime = new OciRuntime(d.runtime, d.runtimePath, d.runtimeRoot);
  return {
    isFrozen: () => false,
    freeze: async () => void (await runtime.pause(d.containerId)),
    thaw: () => retryOnce(async () => void (await runtime.resume(d.containerId)), d.containerId),
  };
}

// A thaw that fails leaves the sandbox stopped dead: try again once before saying so.
async function retryOnce(thawIt: () => Promise<void>, containerId: string): Promise<void> {
  try {
    await thawIt();
  } catch (first) {
    try {
      await thawIt();
    } catch {
      throw new ShedError('internal', `sandbox ${containerId} could not be thawed after a snapshot: ${errorMessage(first)}`, { cause: first });
    }
  }
}
