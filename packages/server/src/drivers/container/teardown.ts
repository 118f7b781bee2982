// Stopping a container sandbox from its handles alone (they are all a restarted daemon has):
// SIGTERM the workload, give it `graceMs`, then let the runtime SIGKILL everything and
// remove its state; then cgroups, mounts and the run dir. Every step tolerates "already gone".
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ShedError } from '../../core/errors.js';
import { errMessage } from '../cleanup-stack.js';
import { cgroupPids, removeCgroupTree } from './cgroups.js';
import type { ContainerHandleData } from './handles.js';
import { unmount } from './overlay.js';
import { isSameLiveProcess, mountsUnder, readMounts } from './procfs.js';
import { OciRuntime } from './runtime.js';

const POLL_MS = 10;
const KILL_WAIT_MS = 5_000;

const runtimeOf = (d: ContainerHandleData): OciRuntime => new OciRuntime(d.runtime, d.runtimePath, d.runtimeRoot);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The pids of the sandbox as the host sees them, from the first cgroup that still lists any. */
export async function sandboxPids(d: ContainerHandleData): Promise<number[]> {
  for (const dir of d.cgroupDirs) {
    const pids = await cgroupPids(dir);
    if (pids.length > 0) return pids;
  }
  return [];
}

/** SIGTERM to every process but the agent, then wait up to `graceMs` for them to go. */
export async function terminateWorkload(d: ContainerHandleData, graceMs: number): Promise<void> {
  const others = (await sandboxPids(d)).filter((p) => p !== d.initPid);
  if (others.length === 0 || graceMs <= 0) return;
  for (const pid of others) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    // Polling is bounded by graceMs; the kernel offers no event for "this cgroup emptied" on v1.
    if ((await sandboxPids(d)).every((p) => p === d.initPid)) return;
    await sleep(POLL_MS);
  }
}

// Processes in the sandbox's cgroup are ours; they may exit between listing and signalling.
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** A frozen sandbox cannot receive signals or die: thaw it before killing. */
async function thawIfFrozen(d: ContainerHandleData, runtime: OciRuntime): Promise<void> {
  for (const dir of d.cgroupDirs) {
    const v1 = await readFile(join(dir, 'freezer.state'), 'utf8').catch(() => null);
    const v2 = await readFile(join(dir, 'cgroup.freeze'), 'utf8').catch(() => null);
    if (v1?.trim() === 'FROZEN' || v2?.trim() === '1') return void (await runtime.resume(d.containerId).catch(() => undefined));
  }
}

/**
 * Kills everything and releases kernel state: runtime state, cgroups, mounts, the run dir.
 * Keeps the state dir (the writable layer).
 */
export async function releaseKernelState(d: ContainerHandleData): Promise<void> {
  const runtime = runtimeOf(d);
  await thawIfFrozen(d, runtime);
  await runtime.delete(d.containerId).catch((err: unknown) => {
    throw new ShedError('internal', `${d.runtime} could not delete ${d.containerId}: ${errMessage(err)}`, { cause: err });
  });
  await killLeftovers(d);
  await Promise.all(d.cgroupDirs.map((dir) => removeCgroupTree(dir)));
  // Everything mounted under the state dir is ours (d.mounts lists what create made), deepest first.
  for (const m of mountsUnder(await readMounts(), d.stateDir)) await unmount(m);
  await rm(d.runDir, { recursive: true, force: true });
}

// If the runtime's state was lost (its root removed), the cgroup still knows the processes.
async function killLeftovers(d: ContainerHandleData): Promise<void> {
  let pids = await sandboxPids(d);
  if (pids.length === 0) return;
  for (const pid of pids) signal(pid, 'SIGKILL');
  const deadline = Date.now() + KILL_WAIT_MS;
  while (pids.length > 0 && Date.now() < deadline) {
    await sleep(POLL_MS);
    pids = await sandboxPids(d);
  }
  if (pids.length > 0) throw new ShedError('internal', `processes ${pids.join(', ')} of ${d.containerId} survived SIGKILL for ${KILL_WAIT_MS} ms`);
}

/** Removes the writable layer and everything else of the sandbox. Refuses while anything is mounted there. */
export async function removeSandboxDirs(d: Pick<ContainerHandleData, 'stateDir' | 'runDir'>): Promise<void> {
  const mounts = await readMounts();
  const busy = [...mountsUnder(mounts, d.stateDir), ...mountsUnder(mounts, d.runDir)];
  if (busy.length > 0) throw new ShedError('internal', `refusing to remove ${d.stateDir}: still mounted at ${busy.join(', ')}`);
  await Promise.all([rm(d.stateDir, { recursive: true, force: true }), rm(d.runDir, { recursive: true, force: true })]);
}

export async function initAlive(d: ContainerHandleData, currentBootId: string): Promise<boolean> {
  return d.bootId === currentBootId && (await isSameLiveProcess(d.initPid, d.initStartTime));
}
