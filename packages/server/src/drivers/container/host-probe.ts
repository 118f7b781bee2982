// What this host offers the container driver, found out once at start: which OCI runtime
// works (crun preferred, runc as fallback, runsc when asked for), the cgroup mode and its
// quirks, and the limits a sandbox config must respect.
import { access, constants, readFile, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { hybridV2Controllers, readCgroupLayout, type CgroupLayout } from './cgroups.js';
import { errMessage } from '../cleanup-stack.js';
import { favorDynamicCgroups, moveControllersToV1 } from './hybrid-fix.js';
import { parseHardLimit } from './procfs.js';
import { isRuntimeName, type RuntimeName } from './runtime.js';
import { trialRun } from './trial-run.js';
import { chooseRuntime } from './runtime-choice.js';

export type RuntimeChoice = 'auto' | RuntimeName;

export interface HostProbeOptions {
  readonly runtime: RuntimeChoice;
  readonly runtimePath?: string;
  readonly fixHybridCgroups: boolean;
  readonly favorDynamicCgroups: boolean;
  readonly agentPath: string;
}

export interface HostFacts {
  readonly runtime: { readonly name: RuntimeName; readonly path: string } | null;
  readonly layout: CgroupLayout;
  readonly swapAccounting: boolean;
  readonly nofileHard: number;
  /** Whether shed may give the agent a negative oom_score_adj (needs CAP_SYS_RESOURCE). */
  readonly canLowerOomScore: boolean;
  readonly notes: string[];
  readonly problems: string[];
}

const CAP_SYS_RESOURCE = 24n;

export async function probeHost(opts: HostProbeOptions): Promise<HostFacts> {
  const notes: string[] = [];
  const problems: string[] = [];
  let layout = await readCgroupLayout();
  notes.push(`cgroups: ${layout.mode}`);
  if (opts.favorDynamicCgroups) await tuneCgroup2(notes);
  await checkKernel(problems);
  await checkAgent(opts.agentPath, problems);
  const nofileHard = await readNofileHard();
  const canLowerOomScore = await hasCapability(CAP_SYS_RESOURCE);
  if (!canLowerOomScore) notes.push('no CAP_SYS_RESOURCE: the agent keeps oom_score_adj 0 (it cannot be lowered); its small RSS keeps it an unlikely OOM victim');
  const candidates: RuntimeName[] = opts.runtime === 'auto' ? ['crun', 'runc'] : [opts.runtime];
  const choice = await chooseRuntime(candidates, opts.runtime === 'auto', {
    find: (name) => findRuntime(name, opts.runtime === name ? opts.runtimePath : undefined),
    trial: (path) => trialRun(path, layout, opts.agentPath),
    fixHybrid: async () => {
      const fixed = await fixHybrid(layout, opts.fixHybridCgroups, notes);
      if (fixed) layout = await readCgroupLayout();
      return fixed;
    },
  });
  notes.push(...choice.notes);
  problems.push(...choice.problems);
  const runtime = choice.runtime;
  const swapAccounting = await hasSwapAccounting(layout);
  return { runtime, layout, swapAccounting, nofileHard, canLowerOomScore, notes, problems };
}

async function tuneCgroup2(notes: string[]): Promise<void> {
  try {
    const changed = await favorDynamicCgroups();
    if (changed.length > 0) notes.push(`remounted ${changed.join(', ')} with favordynmods (fast cgroup migrations; favorDynamicCgroups: false to leave it)`);
  } catch (err) {
    notes.push(`could not set favordynmods on cgroup2 (creates may be slower): ${errMessage(err)}`);
  }
}

async function fixHybrid(layout: CgroupLayout, enabled: boolean, notes: string[]): Promise<boolean> {
  const held = await hybridV2Controllers(layout);
  if (!enabled) {
    notes.push(`crun refuses hybrid cgroups while cgroup2 holds [${held.join(', ')}]; the fix is disabled (fixHybridCgroups: false)`);
    return false;
  }
  try {
    const moved = await moveControllersToV1(held);
    notes.push(`crun refused hybrid cgroups while cgroup2 held [${held.join(', ')}]: mounted v1 hierarchies ${moved.join(', ')}`);
    return moved.length > 0;
  } catch (err) {
    notes.push(`moving [${held.join(', ')}] to v1 hierarchies failed: ${errMessage(err)}`);
    return false;
  }
}

export async function findRuntime(name: RuntimeName, configured?: string): Promise<string | null> {
  if (!isRuntimeName(name)) return null;
  const candidates = configured !== undefined ? [configured] : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).map((d) => join(d, name));
  for (const c of candidates) {
    if (await access(c, constants.X_OK).then(() => true, () => false)) return c;
  }
  return null;
}

async function checkKernel(problems: string[]): Promise<void> {
  const fs = await readFile('/proc/filesystems', 'utf8');
  if (!/\toverlay$/m.test(fs)) problems.push('the kernel has no overlayfs: load it with `modprobe overlay`');
  const maxUserNs = Number((await readFile('/proc/sys/user/max_user_namespaces', 'utf8').catch(() => '0')).trim());
  if (!(maxUserNs > 0)) problems.push('user namespaces are disabled: set /proc/sys/user/max_user_namespaces above 0');
}

async function checkAgent(agentPath: string, problems: string[]): Promise<void> {
  const st = await stat(agentPath).catch(() => null);
  if (st === null) problems.push(`the agent binary ${agentPath} is missing: build it with 'make -C agent'`);
  // The agent runs as the mapped root, an "other" user on the host: it needs o+rx.
  else if ((st.mode & 0o005) !== 0o005) problems.push(`the agent binary ${agentPath} must be readable and executable by others (chmod 755)`);
}

async function readNofileHard(): Promise<number> {
  const hard = parseHardLimit(await readFile('/proc/self/limits', 'utf8'), 'Max open files');
  // The kernel's own ceiling (fs.nr_open default) stands in for "unlimited".
  return hard === null || hard === 'unlimited' ? 1_048_576 : hard;
}

async function hasCapability(bit: bigint): Promise<boolean> {
  const status = await readFile('/proc/self/status', 'utf8');
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m !== null && m[1] !== undefined && ((BigInt(`0x${m[1]}`) >> bit) & 1n) === 1n;
}

async function hasSwapAccounting(layout: CgroupLayout): Promise<boolean> {
  if (layout.mode === 'v2') return true;
  const mem = layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes('memory'));
  return mem !== undefined && (await stat(join(mem.mountPoint, 'memory.memsw.limit_in_bytes')).then(() => true, () => false));
}
