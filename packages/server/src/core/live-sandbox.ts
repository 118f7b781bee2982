import type { AgentPort } from './agent-port.js';
import type { DriverHandles } from './driver.js';
import type { ImageConfig } from './images.js';
import type { PhaseTimings } from './phase-timer.js';
import type { SandboxSpec } from './sandboxes.js';
import type { SpawnedProcess } from './spawned-process.js';

/** Exited processes kept per sandbox for a late `wait` or output replay (the agent keeps 64 too). */
const MAX_EXITED_PROCESSES = 64;

/** Defaults every command in a sandbox starts from: the image's, then the sandbox's. */
export interface CommandDefaults {
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

/** What is true of a running sandbox right now. In memory only; rebuilt by adoption after a restart. */
export class LiveSandbox {
  readonly processes = new Map<number, SpawnedProcess>();
  lastExec: PhaseTimings | undefined;

  constructor(
    readonly handles: DriverHandles,
    readonly agent: AgentPort,
    readonly defaults: CommandDefaults,
  ) {}

  addProcess(p: SpawnedProcess): void {
    this.processes.set(p.procId, p);
    const exited = [...this.processes.values()].filter((q) => q.exited);
    for (const old of exited.slice(0, Math.max(0, exited.length - MAX_EXITED_PROCESSES))) this.processes.delete(old.procId);
  }

  /** Detaches from every process and closes the agent link. The processes are not killed. */
  async close(): Promise<void> {
    for (const p of this.processes.values()) p.detach();
    this.processes.clear();
    await this.agent.close().catch(() => undefined);
  }
}

export function commandDefaults(image: ImageConfig, spec: SandboxSpec): CommandDefaults {
  const env: Record<string, string> = {};
  for (const kv of image.env) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return { env: { ...env, ...spec.env }, cwd: image.workingDir || '/' };
}
