// The container driver as a conformance target, for one OCI runtime.
import { access } from 'node:fs/promises';
import { ContainerDriver, CREATE_STEPS, parseContainerHandles, ShedError, type ContainerDriverOptions } from '@shed/server';
import type { ConformanceTarget } from './suite.js';
import { AGENT_PATH } from './env.js';

export type RuntimeUnderTest = 'crun' | 'runc';

/** Why the container driver cannot be tested with `runtime` here, or the target. */
export async function containerTarget(runtime: RuntimeUnderTest): Promise<ConformanceTarget | string> {
  if (process.getuid?.() !== 0) return 'needs root (mounts, cgroups, user namespaces)';
  if (!(await access(AGENT_PATH).then(() => true, () => false))) return `${AGENT_PATH} is missing: build it with 'make -C agent'`;
  const found = await Promise.any(['/usr/bin', '/usr/sbin', '/bin', '/sbin'].map((d) => access(`${d}/${runtime}`))).then(() => true, () => false);
  if (!found) return `${runtime} is not installed`;
  const makeDriver: ConformanceTarget['makeDriver'] = (o = {}) => {
    const opts: ContainerDriverOptions = { runtime, agentPath: AGENT_PATH };
    if (o.failAt !== undefined || o.abortAt !== undefined) {
      opts.beforeStep = (step) => {
        if (step === o.failAt) throw new ShedError('internal', `injected failure before '${step}'`);
        if (step === o.abortAt?.step) o.abortAt.abort(new ShedError('unavailable', `injected abort before '${step}'`));
      };
    }
    return new ContainerDriver(opts);
  };
  // A probe failure with the runtime installed is a test failure, not a reason to skip.
  const probe = await makeDriver().probe();
  if (!probe.usable) throw new ShedError('failed_precondition', `${runtime} is installed but unusable: ${probe.problems.join('; ')}`);
  return {
    makeDriver,
    createSteps: CREATE_STEPS,
    killInit: async (h) => void process.kill(parseContainerHandles(h).data.initPid, 'SIGKILL'),
  };
}
