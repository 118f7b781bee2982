// The orphan sweep the daemon runs at start: anything of this daemon's named for a sandbox
// that has no row — runtime containers, cgroups, mounts, directories — is torn down. It only
// looks inside this daemon's run/state roots and cgroup scope, so other daemons are safe.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isSandboxId } from '../../core/ids.js';
import { cgroupPids, cgroupScope, readCgroupLayout, removeCgroupTree, removeEmptyScope, scopeDirs } from './cgroups.js';
import { findRuntime } from './host-probe.js';
import { unmount } from './overlay.js';
import { mountsUnder, readMounts } from './procfs.js';
import { isRuntimeName, OciRuntime } from './runtime.js';
import { runtimeRootFor } from './layout.js';

export interface SweepOptions {
  /** Parent of every sandbox run dir (`<runRoot>/<sandboxId>`); also holds the runtime roots. */
  readonly runRoot: string;
  /** Parent of every sandbox state dir (`<stateRoot>/<sandboxId>`). */
  readonly stateRoot: string;
  /**
   * Sandboxes that exist, creates in flight included: everything else named for a sandbox is
   * an orphan. Asked just before each removal (the daemon's view is live), so a create that
   * started after the sweep did is never mistaken for an orphan.
   */
  readonly knownIds: { has(id: string): boolean };
  /**
   * Whether the daemon's empty cgroup scope dirs may go now: false while a create is in
   * flight (its runtime may be between creating the scope and the sandbox's cgroup in it).
   * @default () => true
   */
  readonly mayRemoveScope?: () => boolean;
}

export interface SweepReport {
  readonly containers: string[];
  readonly cgroups: string[];
  readonly mounts: string[];
  readonly dirs: string[];
}

const orphanId = (name: string, known: SweepOptions['knownIds']): string | null => {
  const id = name.startsWith('shed-') ? name.slice(5) : name;
  return isSandboxId(id) && !known.has(id) ? id : null;
};

export async function sweepOrphans(opts: SweepOptions): Promise<SweepReport> {
  const containers = await sweepContainers(opts);
  const cgroups = await sweepCgroups(opts);
  const mounts = await sweepMounts(opts);
  const dirs = await sweepDirs(opts);
  return { containers, cgroups, mounts, dirs };
}

async function sweepContainers(opts: SweepOptions): Promise<string[]> {
  const done: string[] = [];
  for (const name of await readdir(join(opts.runRoot, '.oci')).catch(() => [])) {
    if (!isRuntimeName(name)) continue;
    const path = await findRuntime(name);
    if (path === null) continue;
    const runtime = new OciRuntime(name, path, runtimeRootFor(opts.runRoot, name));
    for (const id of await runtime.list()) {
      if (orphanId(id, opts.knownIds) === null) continue;
      await runtime.delete(id);
      done.push(`${name}:${id}`);
    }
  }
  return done;
}

async function sweepCgroups(opts: SweepOptions): Promise<string[]> {
  const done: string[] = [];
  for (const scopeDir of scopeDirs(await readCgroupLayout(), cgroupScope(opts.runRoot))) {
    const entries = await readdir(scopeDir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isDirectory() || orphanId(e.name, opts.knownIds) === null) continue;
      const dir = join(scopeDir, e.name);
      // Processes still in an orphan's cgroup belong to a sandbox of this daemon that lost its runtime state.
      for (const pid of await cgroupPids(dir)) killQuietly(pid);
      await waitEmpty(dir);
      await removeCgroupTree(dir);
      done.push(dir);
    }
  }
  removeEmptyScope(await readCgroupLayout(), opts.runRoot, opts.mayRemoveScope ?? (() => true));
  return done;
}

async function sweepMounts(opts: SweepOptions): Promise<string[]> {
  const done: string[] = [];
  const mounts = await readMounts();
  for (const root of [opts.stateRoot, opts.runRoot]) {
    for (const m of mountsUnder(mounts, root)) {
      const first = m.slice(root.length + 1).split('/')[0] ?? '';
      if (orphanId(first, opts.knownIds) === null) continue;
      await unmount(m);
      done.push(m);
    }
  }
  return done;
}

async function sweepDirs(opts: SweepOptions): Promise<string[]> {
  const done: string[] = [];
  const mounts = await readMounts();
  for (const root of [opts.stateRoot, opts.runRoot]) {
    for (const name of await readdir(root).catch(() => [])) {
      const dir = join(root, name);
      // Never recurse into something still mounted: rm would delete through the mount.
      if (orphanId(name, opts.knownIds) === null || mountsUnder(mounts, dir).length > 0) continue;
      await rm(dir, { recursive: true, force: true });
      done.push(dir);
    }
  }
  return done;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

async function waitEmpty(dir: string): Promise<void> {
  for (let i = 0; i < 200 && (await cgroupPids(dir)).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
}
