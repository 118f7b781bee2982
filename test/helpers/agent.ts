// Starts the real shed-agent as PID 1 of a fresh pid namespace, connected to a listener in
// a temp dir, and tears all of it down again. Only the pid this helper spawned is killed;
// `unshare --kill-child` takes the agent, and the agent's death takes its namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { AgentListener, type AgentClient } from '@shed/protocol';
import { jailCommand, prepareJail } from './jail.js';
import { RUN_TAG, trackTempDir } from './leaks.js';
import { childrenOf, isRunning } from './procs.js';

export const repo = resolve(fileURLToPath(import.meta.url), '../../../..');
export const AGENT_BINARY = join(repo, 'agent/out/shed-agent');
export const AGENT_ASAN_BINARY = join(repo, 'agent/out/shed-agent-asan');
const STDERR_LIMIT_BYTES = 1 << 20;

export interface StartAgentOptions {
  /** @default AGENT_BINARY */
  binary?: string;
  /** Also a new UTS namespace, so CONFIGURE may set the hostname. @default false */
  uts?: boolean;
  /**
   * Run inside a read-only chroot whose only writable place is a tmpfs at /scratch, in a
   * private mount namespace: for fuzzing, where mutated paths may point anywhere.
   * @default false
   */
  jail?: boolean;
  /** Extra agent arguments. */
  args?: readonly string[];
  /** @default 10000 */
  readyTimeoutMs?: number;
}

/** A launched agent process, whatever listens for it. */
export interface LaunchedAgent {
  readonly dir: string;
  /** Pid of the `unshare` process this helper spawned. */
  readonly launcherPid: number;
  /** Rejects if the launcher exits (the agent failed to start or died). */
  readonly exited: Promise<never>;
  /** Host pid of the agent (PID 1 of its namespace); call once it has connected. */
  findAgentPid(): Promise<number>;
  /** What the agent wrote to stderr so far (capped). */
  stderr(): string;
  stop(): Promise<void>;
}

export interface RunningAgent extends LaunchedAgent {
  readonly listener: AgentListener;
  /** The first connection. */
  readonly client: AgentClient;
  /** Host pid of the agent (PID 1 of its namespace). */
  readonly agentPid: number;
}

/** Why functional agent tests cannot run here, or undefined when they can. */
export async function agentUnavailable(binary = AGENT_BINARY): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (unshare --pid)';
  return access(binary).then(
    () => undefined,
    () => `${binary} is missing: build it with 'make -C agent'`,
  );
}

/**
 * Launches an agent connecting to whatever `listen` sets up on the socket path it is given.
 * `close` is called on teardown.
 */
export async function launchAgent<L extends { close(): Promise<void> }>(
  opts: StartAgentOptions,
  listen: (socketPath: string) => Promise<L>,
): Promise<{ agent: LaunchedAgent; listener: L }> {
  const dir = await mkdtemp(join(tmpdir(), 'shed-agent-test-'));
  trackTempDir(dir);
  const binary = opts.binary ?? AGENT_BINARY;
  let listener: L | undefined;
  try {
    const jail = opts.jail === true ? await prepareJail(dir, binary) : undefined;
    const socketPath = jail?.hostSocket ?? join(dir, 'agent.sock');
    listener = await listen(socketPath);
    const agentArgs = ['--connect', `unix:${jail?.agentSocket ?? socketPath}`, ...(opts.args ?? [])];
    const ns = ['--pid', '--fork', '--kill-child', ...(opts.uts === true ? ['--uts'] : [])];
    const args = jail !== undefined ? [...ns, '--mount', ...jailCommand(jail, agentArgs)] : [...ns, '--mount-proc', binary, ...agentArgs];
    const child = spawn('unshare', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, [RUN_TAG]: dir } });
    return { agent: launched(dir, child, listener), listener };
  } catch (err) {
    await listener?.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function launched(dir: string, child: ChildProcess, listener: { close(): Promise<void> }): LaunchedAgent {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    if (stderr.length < STDERR_LIMIT_BYTES) stderr += c.toString();
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, sig) => reject(new Error(`agent launcher exited (${code ?? sig}): ${stderr}`)));
  });
  exited.catch(() => undefined);
  let pid: number | undefined;
  const findAgentPid = async (): Promise<number> => {
    if (pid !== undefined) return pid;
    const [found] = await childrenOf(child.pid ?? 0);
    if (found === undefined) throw new Error('the agent process was not found under unshare');
    pid = found;
    return found;
  };
  return {
    dir, launcherPid: child.pid ?? 0, exited, findAgentPid,
    stderr: () => stderr,
    stop: async () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGKILL');
        await gone;
      }
      try {
        for (let i = 0; pid !== undefined && (await isRunning(pid)) && i < 100; i++) await sleep(20);
        await listener.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Launches an agent and waits for its first connection through an AgentListener. */
export async function startAgent(opts: StartAgentOptions = {}): Promise<RunningAgent> {
  const listen = (path: string): Promise<AgentListener> => AgentListener.listen(path, { readyTimeoutMs: opts.readyTimeoutMs });
  const { agent, listener } = await launchAgent(opts, listen);
  try {
    const timeout = AbortSignal.timeout(opts.readyTimeoutMs ?? 10_000);
    const client = await Promise.race([listener.accept({ signal: timeout }), agent.exited]);
    return { ...agent, listener, client, agentPid: await agent.findAgentPid() };
  } catch (err) {
    await agent.stop();
    throw err;
  }
}
