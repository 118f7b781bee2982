// `shed doctor`'s checks of what the container driver needs: a working OCI runtime (from the
// probe the driver ran at start), the cgroup mode and crun's hybrid-mode quirk, user
// namespaces and the id range, and a real overlayfs mount. Each says how to fix a failure.
import type { DoctorCheck } from '@shed/protocol';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IdMap } from '../../core/driver.js';
import { errMessage } from '../cleanup-stack.js';
import { hybridV2Controllers, readCgroupLayout } from './cgroups.js';
import { runCommand } from './command.js';
import type { HostFacts } from './host-probe.js';
import { idRangeConflicts } from './id-ranges.js';

const ok = (name: string, detail: string): DoctorCheck => ({ name, status: 'ok', detail, fix: null });

export async function containerChecks(facts: HostFacts, idMap: IdMap): Promise<DoctorCheck[]> {
  return [runtimeCheck(facts), cgroupModeCheck(facts), await hybridQuirkCheck(facts), await userNamespaceCheck(idMap), await overlayCheck()];
}

function runtimeCheck(f: HostFacts): DoctorCheck {
  if (f.runtime !== null && f.problems.length === 0) {
    return ok('runtime', `${f.runtime.name} (${f.runtime.path}) created a trial container with a user namespace and cgroup limits`);
  }
  return {
    name: 'runtime', status: 'fail',
    detail: [...f.problems, ...f.notes.filter((n) => /cannot start|not installed/.test(n))].join('; '),
    fix: 'install crun or runc (apt-get install crun runc); each problem above names its own fix',
  };
}

function cgroupModeCheck(f: HostFacts): DoctorCheck {
  const v1 = f.layout.hierarchies.filter((h) => h.version === 1).flatMap((h) => h.controllers).filter((c) => !c.startsWith('name='));
  const v2 = f.layout.hierarchies.find((h) => h.version === 2);
  if (f.layout.mode === 'v2') return ok('cgroups', `v2 (unified) at ${v2?.mountPoint ?? '?'}`);
  const detail = `${f.layout.mode}: v1 controllers [${v1.join(', ')}]${v2 === undefined ? '' : `, cgroup2 at ${v2.mountPoint}`}`;
  if (f.layout.mode === 'hybrid') return ok('cgroups', detail);
  return {
    name: 'cgroups', status: 'warn', detail: `${detail}; limits work through v1, but crun and newer kernels expect v2`,
    fix: 'boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2',
  };
}

/** crun 1.8 refuses hybrid mode while cgroup2 holds a controller (hugetlb on Debian 12). */
async function hybridQuirkCheck(f: HostFacts): Promise<DoctorCheck> {
  const name = 'cgroup-hybrid';
  const layout = await readCgroupLayout();
  if (layout.mode !== 'hybrid') return ok(name, `cgroups are ${layout.mode}: crun's hybrid-mode refusal does not apply`);
  const held = await hybridV2Controllers(layout);
  const moved = f.notes.find((n) => n.includes('mounted v1 hierarchies'));
  if (held.length === 0) return ok(name, `hybrid, and cgroup2 holds no controller, so crun accepts it${moved === undefined ? '' : ` (at start: ${moved})`}`);
  const mounts = held.map((c) => `mount -t cgroup -o ${c} cgroup /sys/fs/cgroup/${c}`).join('; ');
  return {
    name, status: f.runtime?.name === 'crun' ? 'fail' : 'warn',
    detail: `hybrid, and cgroup2 holds [${held.join(', ')}]: crun 1.8 refuses to create containers ("hybrid mode not supported")`,
    fix: `mkdir -p and ${mounts} (shedd does this at start unless container.fixHybridCgroups = false), or use runc (container.runtime = "runc")`,
  };
}

async function userNamespaceCheck(idMap: IdMap): Promise<DoctorCheck> {
  const name = 'user-namespaces';
  const max = Number((await readFile('/proc/sys/user/max_user_namespaces', 'utf8').catch(() => '0')).trim());
  if (!(max > 0)) return { name, status: 'fail', detail: 'user namespaces are disabled (user.max_user_namespaces = 0)', fix: 'sysctl -w user.max_user_namespaces=15000 (and persist it in /etc/sysctl.d)' };
  try {
    await runCommand('unshare', ['--user', '--map-root-user', 'true'], { timeoutMs: 5000 });
  } catch (err) {
    return { name, status: 'fail', detail: `creating a user namespace failed: ${errMessage(err)}`, fix: 'check kernel.unprivileged_userns_clone and any LSM policy (AppArmor, SELinux) restricting user namespaces' };
  }
  const range = `host ids ${idMap.hostId}-${idMap.hostId + idMap.size - 1}`;
  const conflicts = await idRangeConflicts(idMap);
  if (conflicts.length > 0) {
    return {
      name, status: 'warn', detail: `sandboxes map root to ${range}, which overlaps ${conflicts.join('; ')}: those users could reach sandbox files`,
      fix: 'pick a free range in shedd.toml ([idMap] hostId, size) or move the overlapping /etc/subuid, /etc/subgid entries',
    };
  }
  return ok(name, `available (max ${max}); sandboxes map root to ${range}, a range no user or /etc/subuid, /etc/subgid entry holds`);
}

/** Mounts a real overlay (the rootfs of every sandbox) in a temp dir, then removes it. */
async function overlayCheck(): Promise<DoctorCheck> {
  const name = 'overlayfs';
  const dir = await mkdtemp(join(tmpdir(), 'shed-doctor-'));
  const lower = join(dir, 'lower');
  const upper = join(dir, 'upper');
  const work = join(dir, 'work');
  const target = join(dir, 'target');
  let mounted = false;
  try {
    await Promise.all([lower, upper, work, target].map((d) => mkdir(d)));
    await runCommand('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, target], { timeoutMs: 5000 });
    mounted = true;
    return ok(name, 'an overlay mount (lower, upper, work) succeeded');
  } catch (err) {
    return { name, status: 'fail', detail: `mounting an overlay failed: ${errMessage(err)}`, fix: 'modprobe overlay; shed needs overlayfs on the data dir\'s filesystem (ext4 or xfs)' };
  } finally {
    if (mounted) await runCommand('umount', [target], { timeoutMs: 5000 }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
