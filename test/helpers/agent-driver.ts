// A Driver for tests of everything above the driver (core, API, SDK, CLI): each "sandbox"
// is the real shed-agent as PID 1 of its own pid and UTS namespaces on the host's
// filesystem (test/helpers/agent.ts), with no container around it. The container driver
// has its own conformance suite; this seam lets the API be tested on any root host.
import type { Driver, DriverCreateSpec, DriverHandles, Liveness, RunningSandbox } from '@shed/server';
import { startAgent, type RunningAgent } from './agent.js';

export class AgentProcessDriver implements Driver {
  readonly name = 'agent-process';
  readonly #running = new Map<string, RunningAgent>();

  async probe() {
    return { usable: true, notes: ['test driver: agents as host processes'], problems: [] };
  }

  async create(spec: DriverCreateSpec): Promise<RunningSandbox> {
    const agent = await startAgent({ uts: true });
    this.#running.set(spec.id, agent);
    await agent.client.configure({ hostname: spec.hostname });
    return { handles: { driver: this.name, id: spec.id, data: { agentPid: agent.agentPid } }, agent: agent.client };
  }

  async adopt(): Promise<RunningSandbox | null> {
    return null;
  }

  async liveness(h: DriverHandles): Promise<Liveness> {
    return this.#running.has(h.id) ? { alive: true } : { alive: false, reason: 'its processes were gone: the test agent was stopped' };
  }

  async isAlive(h: DriverHandles): Promise<boolean> {
    return this.#running.has(h.id);
  }

  // The agent runs commands as its own children; this seam has no cgroup to count them by.
  async workloadProcesses(): Promise<number> {
    return 0;
  }

  async pause(): Promise<void> {}
  async resume(): Promise<void> {}
  // The agent process is this helper's child: there is no link to let go of without ending it.
  async release(): Promise<void> {}

  // Its sandboxes are child processes of the test: nothing outlives the test process to sweep.
  async sweep(): Promise<string[]> {
    return [];
  }

  async stop(h: DriverHandles): Promise<void> {
    const agent = this.#running.get(h.id);
    this.#running.delete(h.id);
    await agent?.stop();
  }

  async destroy(h: DriverHandles): Promise<void> {
    await this.stop(h);
  }

  /** Sandboxes still running (a test that passes leaves none). */
  get count(): number {
    return this.#running.size;
  }
}
