// Does this runtime work here? Creates (never starts) a throwaway container with a user
// namespace and cgroup limits, the two things that fail on awkward hosts, then deletes it.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errMessage } from '../cleanup-stack.js';
import type { CgroupLayout } from './cgroups.js';
import { removeCgroupTree, scopeDirs } from './cgroups.js';
import { runCommand } from './command.js';

const TRIAL_TIMEOUT_MS = 10_000;

/** Returns null when the runtime created a container, otherwise what it said. */
export async function trialRun(runtimePath: string, layout: CgroupLayout): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), 'shed-probe-'));
  const id = `shed-probe-${randomBytes(4).toString('hex')}`;
  const cgroup = `/shed/${id}`;
  const base = ['--root', join(dir, 'state')];
  try {
    await mkdir(join(dir, 'rootfs'));
    await writeFile(join(dir, 'config.json'), JSON.stringify(trialConfig(join(dir, 'rootfs'), cgroup)));
    await runCommand(runtimePath, [...base, 'create', '--bundle', dir, id], { timeoutMs: TRIAL_TIMEOUT_MS });
    return null;
  } catch (err) {
    return errMessage(err);
  } finally {
    await runCommand(runtimePath, [...base, 'delete', '--force', id], { timeoutMs: TRIAL_TIMEOUT_MS }).catch(() => undefined);
    await Promise.all(scopeDirs(layout, cgroup).map((d) => removeCgroupTree(d).catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  }
}

function trialConfig(rootfs: string, cgroupsPath: string): unknown {
  const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
  return {
    ociVersion: '1.0.2',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/never-started'], cwd: '/', env: [] },
    root: { path: rootfs },
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'user' }],
      uidMappings: map,
      gidMappings: map,
      cgroupsPath,
      resources: { pids: { limit: 16 } },
    },
  };
}
