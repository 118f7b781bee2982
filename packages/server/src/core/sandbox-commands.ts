import { LIMITS } from '@shed/protocol';
import type { AgentExecOptions, AgentExit, AgentProcess, AgentProcessInfo, TerminalSize } from './agent-port.js';
import { fromAgentError, viaAgent } from './agent-errors.js';
import { ShedError, invalidArgument } from './errors.js';
import type { LiveSandbox } from './live-sandbox.js';
import { PhaseTimer, type PhaseTimings } from './phase-timer.js';
import type { ProcessEvent } from './process-output.js';
import type { SandboxService } from './sandbox-service.js';
import { sandboxPath } from './sandbox-paths.js';
import { SpawnedProcess, type ReadOutputOptions } from './spawned-process.js';

/** A command to run in a sandbox. */
export interface CommandSpec {
  argv: readonly string[];
  /** On top of the image's and the sandbox's environment. @default {} */
  env?: Readonly<Record<string, string>>;
  /** Absolute. @default the image's working directory */
  cwd?: string;
  /** @default 0 */
  uid?: number;
  /** @default 0 */
  gid?: number;
  /** SIGKILL the process group after this long; 0 = never. @default 0 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ExecCommand extends CommandSpec {
  /** Written to stdin, then EOF. @default none: stdin is /dev/null */
  stdin?: Uint8Array;
  /** Past this much output (stdout + stderr) the process is killed and the result truncated. @default 16 MiB */
  maxOutputBytes?: number;
}

export interface ExecResult extends Omit<AgentExit, 'outputBytes'> {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** Output went past maxOutputBytes: the process was killed and the rest dropped. */
  readonly truncated: boolean;
  readonly timings: PhaseTimings;
}

/** A process of a sandbox, as its agent keeps it. */
export interface ProcessSummary extends AgentProcessInfo {
  /** On a terminal; null when this shedd did not start it and cannot tell (spawned before a restart). */
  readonly pty: boolean | null;
}

export interface SpawnCommand extends CommandSpec {
  /** Give the process a stdin pipe. @default false */
  stdin?: boolean;
  /** Run on a pseudo-terminal of this size; its input is the terminal. @default pipes */
  pty?: TerminalSize;
}

/** Runs commands in running sandboxes: buffered (`exec`) or streaming (`spawn` + process calls). */
export class SandboxCommands {
  readonly #sandboxes: SandboxService;
  /** Attaches in flight to processes spawned before this shedd started. */
  readonly #adopting = new WeakMap<LiveSandbox, Map<number, Promise<SpawnedProcess>>>();

  constructor(sandboxes: SandboxService) {
    this.#sandboxes = sandboxes;
  }

  async exec(ref: string, cmd: ExecCommand): Promise<ExecResult> {
    const { record, live } = this.#sandboxes.live(ref);
    const timer = new PhaseTimer();
    const max = cmd.maxOutputBytes ?? LIMITS.execOutputBytes.default;
    const proc = startOnAgent(live, cmd, cmd.stdin !== undefined, `exec ${cmd.argv[0] ?? ''} in ${ref}`);
    const feeding = cmd.stdin === undefined ? Promise.resolve() : feed(proc, cmd.stdin);
    try {
      await timer.time('started', () => proc.started);
      const out = await timer.time('output', () => collect(proc, max));
      const exit = await proc.wait();
      await feeding;
      const timings = timer.finish();
      live.lastExec = timings;
      this.#sandboxes.events.publish('exec', record, { exitCode: exit.exitCode, signal: exit.signal, timedOut: exit.timedOut, truncated: out.truncated, timings });
      return { exitCode: exit.exitCode, signal: exit.signal, timedOut: exit.timedOut, ...out, timings };
    } catch (err) {
      const e = fromAgentError(err, `exec ${cmd.argv[0] ?? ''} in ${ref}`);
      this.#sandboxes.events.publish('exec_failed', record, { error: { code: e.code, message: e.message } });
      throw e;
    }
  }

  async spawn(ref: string, cmd: SpawnCommand): Promise<SpawnedProcess> {
    const { live } = this.#sandboxes.live(ref);
    const proc = startOnAgent(live, cmd, cmd.stdin === true, `spawn ${cmd.argv[0] ?? ''} in ${ref}`, cmd.pty);
    const started = await viaAgent(`spawn ${cmd.argv[0] ?? ''} in ${ref}`, () => proc.started);
    const p = new SpawnedProcess(live.agent, proc, started, cmd.argv, { pty: cmd.pty !== undefined, stdin: cmd.stdin === true || cmd.pty !== undefined });
    live.addProcess(p);
    return p;
  }

  /**
   * Every process the sandbox's agent keeps: running ones, and exited ones whose output it
   * still holds. The agent is asked, not shedd's memory, so processes spawned before a
   * restart are listed too.
   */
  async list(ref: string, opts: { signal?: AbortSignal } = {}): Promise<ProcessSummary[]> {
    const { live } = this.#sandboxes.live(ref);
    const procs = await viaAgent(`list the processes of ${ref}`, () => live.agent.ps(opts.signal === undefined ? {} : { signal: opts.signal }));
    return procs.map((p) => ({ ...p, pty: live.processes.get(p.procId)?.pty ?? null }));
  }

  /**
   * A process spawned in the sandbox. One this shedd has not seen (spawned before a restart)
   * is found again through the agent, which keeps processes and their output across a lost
   * connection: attached from `offset`, or from the oldest byte it still holds.
   */
  async process(ref: string, procId: number, opts: { offset?: number } = {}): Promise<SpawnedProcess> {
    const { live } = this.#sandboxes.live(ref);
    const known = live.processes.get(procId);
    if (known !== undefined) return known;
    let adopting = this.#adopting.get(live);
    if (adopting === undefined) this.#adopting.set(live, (adopting = new Map()));
    // Two requests for the same process share one attach: a second ATTACH would take the stream over.
    let pending = adopting.get(procId);
    if (pending === undefined) {
      pending = this.#adopt(live, ref, procId, opts.offset).finally(() => adopting.delete(procId));
      adopting.set(procId, pending);
    }
    return pending;
  }

  async output(ref: string, procId: number, opts: ReadOutputOptions = {}): Promise<AsyncGenerator<ProcessEvent>> {
    const p = await this.process(ref, procId, opts.offset === undefined ? {} : { offset: opts.offset });
    return p.output(opts);
  }

  async #adopt(live: LiveSandbox, ref: string, procId: number, offset: number | undefined): Promise<SpawnedProcess> {
    let proc: AgentProcess;
    try {
      proc = live.agent.attach(procId, offset === undefined ? {} : { offset });
    } catch (err) {
      throw fromAgentError(err, `attach to process ${procId} in ${ref}`); // the client checks its arguments as it is called
    }
    const started = await proc.started.catch((err: unknown) => {
      const e = fromAgentError(err, `attach to process ${procId} in ${ref}`);
      if (e.code !== 'not_found') throw e;
      throw new ShedError('not_found', `process ${procId} is not known in sandbox ${ref}; it was never spawned there or exited long ago`, {
        details: { procId }, cause: err,
      });
    });
    // Its argv is not known here (the agent's PS has it, one more round trip nobody needs).
    const p = new SpawnedProcess(live.agent, proc, started, []);
    live.addProcess(p);
    return p;
  }
}

/** The agent client checks its arguments as it is called and throws its own errors: they become ShedErrors here. */
function startOnAgent(live: LiveSandbox, cmd: CommandSpec, stdin: boolean, what: string, pty?: TerminalSize): AgentProcess {
  const opts = { ...agentOptions(live, cmd, stdin), ...(pty === undefined ? {} : { pty }) };
  try {
    return live.agent.exec(opts);
  } catch (err) {
    throw fromAgentError(err, what);
  }
}

function agentOptions(live: LiveSandbox, cmd: CommandSpec, stdin: boolean): AgentExecOptions {
  if (cmd.argv.length === 0) throw invalidArgument('argv is empty; give the program to run');
  return {
    argv: cmd.argv,
    env: { ...live.defaults.env, ...cmd.env },
    cwd: cmd.cwd === undefined ? live.defaults.cwd : sandboxPath(cmd.cwd, 'cwd'),
    uid: cmd.uid,
    gid: cmd.gid,
    timeoutMs: cmd.timeoutMs,
    stdin,
    signal: cmd.signal,
  };
}

/** Writes stdin concurrently with reading output (a process may fill its output before reading input). */
async function feed(proc: AgentProcess, input: Uint8Array): Promise<void> {
  try {
    if (input.byteLength > 0) await proc.write(input);
    await proc.end();
  } catch {
    // The process exited without reading all of its input: like a shell pipe, not an error
    // of the exec. Its exit status says what happened.
  }
}

async function collect(proc: AgentProcess, maxBytes: number): Promise<{ stdout: Buffer; stderr: Buffer; truncated: boolean }> {
  const parts: Record<1 | 2, Buffer[]> = { 1: [], 2: [] };
  let total = 0;
  let truncated = false;
  for await (const chunk of proc.output) {
    if (truncated) continue;
    if (total + chunk.data.byteLength > maxBytes) {
      parts[chunk.fd].push(chunk.data.subarray(0, maxBytes - total));
      truncated = true;
      proc.signal('SIGKILL');
      continue;
    }
    total += chunk.data.byteLength;
    parts[chunk.fd].push(chunk.data);
  }
  return { stdout: Buffer.concat(parts[1]), stderr: Buffer.concat(parts[2]), truncated };
}
