// Does this runtime work here? Creates (never starts) a throwaway container with a user
// namespace and cgroup limits, the two things that fail on awkward hosts, then deletes it.
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errMessage } from '../cleanup-stack.js';
import type { CgroupLayout } from './cgroups.js';
import { removeCgroupTree, scopeDirs } from './cgroups.js';
import { runCommand } from './command.js';
import { runLogged } from './runtime.js';

const TRIAL_TIMEOUT_MS = 10_000;
const TRIAL_HOST_ID = 100_000;

/** Returns null when the runtime created a container, otherwise what it said. */
export async function trialRun(runtimePath: string, layout: CgroupLayout, agentPath: string): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), 'shed-probe-'));
  const id = `shed-probe-${randomBytes(4).toString('hex')}`;
  const cgroup = `/shed/${id}`;
  const base = ['--root', join(dir, 'state')];
  try {
    // The mapped root must traverse to the rootfs (mkdtemp makes 0700).
    await chmod(dir, 0o711);
    // Runtimes populate /dev inside the rootfs as the mapped root.
    await mkdir(join(dir, 'rootfs', 'dev'), { recursive: true });
    await chown(join(dir, 'rootfs'), TRIAL_HOST_ID, TRIAL_HOST_ID);
    await chown(join(dir, 'rootfs', 'dev'), TRIAL_HOST_ID, TRIAL_HOST_ID);
    await writeFile(join(dir, 'config.json'), JSON.stringify(trialConfig(join(dir, 'rootfs'), cgroup, agentPath)));
    await runLogged(runtimePath, [...base, 'create', '--bundle', dir, id], join(dir, 'trial.log'), AbortSignal.timeout(TRIAL_TIMEOUT_MS));
    return null;
  } catch (err) {
    return errMessage(err);
  } finally {
    await runCommand(runtimePath, [...base, 'delete', '--force', id], { timeoutMs: TRIAL_TIMEOUT_MS }).catch(() => undefined);
    await Promise.all(scopeDirs(layout, cgroup).map((d) => removeCgroupTree(d).catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  }
}

// Runtimes check at create that the program exists and that /proc is there: bind the agent in.
function trialConfig(rootfs: string, cgroupsPath: string, agentPath: string): unknown {
  const map = [{ containerID: 0, hostID: TRIAL_HOST_ID, size: 65536 }];
  return {
    ociVersion: '1.0.2',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/agent', '--version'], cwd: '/', env: [] },
    root: { path: rootfs },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/agent', type: 'bind', source: agentPath, options: ['bind', 'ro'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'user' }],
      uidMappings: map,
      gidMappings: map,
      cgroupsPath,
      resources: { pids: { limit: 16 } },
    },
  };
}
