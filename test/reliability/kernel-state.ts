// What the host holds for each sandbox of one daemon, found from the OS rather than asked of
// shedd: directories, runtime containers, cgroups, mounts and processes, by sandbox id. The
// crash tests compare it with the sandbox rows after every restart.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cgroupScope, readCgroupLayout } from '@shed/server';
import type { DaemonDirs } from '../e2e/shedd.js';

export interface KernelState {
  /** Writable layers (`<data>/sandboxes/<id>`): every sandbox that exists, running or stopped. */
  readonly stateDirs: string[];
  /** The rest is held only while a sandbox runs. */
  readonly runDirs: string[];
  readonly containers: string[];
  readonly cgroups: string[];
  readonly mounts: string[];
  /** Sandboxes with at least one live process in their cgroup. */
  readonly withProcesses: string[];
}

const SANDBOX_ID = /sb-[0-9a-f]{12}/;
const ids = (names: readonly string[]): string[] => [...new Set(names.map((n) => SANDBOX_ID.exec(n)?.[0]).filter((n) => n !== undefined))].sort();
const names = async (dir: string): Promise<string[]> => readdir(dir).catch(() => []);

export async function kernelState(dirs: DaemonDirs): Promise<KernelState> {
  const runRoot = join(dirs.runDir, 'sandboxes');
  const ociRoot = join(runRoot, '.oci');
  const containers: string[] = [];
  for (const rt of await names(ociRoot)) containers.push(...(await names(join(ociRoot, rt))));
  const cgroups: string[] = [];
  const withProcesses: string[] = [];
  for (const h of (await readCgroupLayout()).hierarchies) {
    const scope = join(h.mountPoint, cgroupScope(runRoot));
    for (const c of await names(scope)) {
      cgroups.push(c);
      const procs = await readFile(join(scope, c, 'cgroup.procs'), 'utf8').catch(() => '');
      if (procs.trim() !== '') withProcesses.push(c);
    }
  }
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const mounts = mountinfo.split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p.startsWith(dirs.dir));
  return {
    stateDirs: ids(await names(join(dirs.dataDir, 'sandboxes'))),
    runDirs: ids(await names(runRoot)),
    containers: ids(containers),
    cgroups: ids(cgroups),
    mounts: ids(mounts),
    withProcesses: ids(withProcesses),
  };
}

/** Host pids of every process of a running sandbox, from its cgroup (the first hierarchy that lists any). */
export async function sandboxPids(dirs: DaemonDirs, id: string): Promise<number[]> {
  const scope = cgroupScope(join(dirs.runDir, 'sandboxes'));
  for (const h of (await readCgroupLayout()).hierarchies) {
    const text = await readFile(join(h.mountPoint, scope, `shed-${id}`, 'cgroup.procs'), 'utf8').catch(() => '');
    const pids = text.split('\n').filter((l) => l !== '').map(Number);
    if (pids.length > 0) return pids;
  }
  return [];
}
