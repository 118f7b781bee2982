// Whether a container sandbox is still there, from its handles alone, without spawning a
// process (the daemon asks for every running sandbox on a schedule): same boot, same init
// process (pid + start time), and the runtime's state for it still on disk.
import type { Liveness } from '../../core/driver.js';
import type { ContainerHandleData } from './handles.js';
import { bootId, isSameLiveProcess } from './procfs.js';
import { OciRuntime } from './runtime.js';
import { sandboxPids, targetOfHandles } from './teardown.js';

const ALIVE: Liveness = { alive: true };

export async function containerLiveness(d: ContainerHandleData): Promise<Liveness> {
  if (d.bootId !== (await bootId())) return { alive: false, reason: 'its processes were gone: the host rebooted since it started' };
  if (!(await isSameLiveProcess(d.initPid, d.initStartTime))) {
    return { alive: false, reason: `its processes were gone: its init (host pid ${d.initPid}) exited or was killed` };
  }
  // Without its runtime state the sandbox cannot be paused, inspected or stopped through the
  // runtime: it is torn down by its cgroups instead, like one whose processes died.
  if (!(await runtimeOf(d).has(d.containerId))) return { alive: false, reason: `its ${d.runtime} runtime state was removed` };
  return ALIVE;
}

/** Processes in the sandbox's cgroup other than its init (the agent). */
export async function workloadCount(d: ContainerHandleData): Promise<number> {
  return (await sandboxPids(targetOfHandles(d))).filter((pid) => pid !== d.initPid).length;
}

const runtimeOf = (d: ContainerHandleData): OciRuntime => new OciRuntime(d.runtime, d.runtimePath, d.runtimeRoot);
