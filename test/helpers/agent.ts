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
import { trackNamespace, trackTempDir } from './leaks.js';
import { childrenOf, isRunning, pidNamespace } from './procs.js';
import { jailCommand, prepareJail } from './jail.js';

const repo = resolve(fileURLToPath(import.meta.url), '../../../..');
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

export interface RunningAgent {
  readonly dir: string;
  readonly listener: AgentListener;
  /** The first connection. */
  readonly client: AgentClient;
  /** Pid of the `unshare` process this helper spawned. */
  readonly launcherPid: number;
  /** Host pid of the agent (PID 1 inside its namespace). */
  readonly agentPid: number;
  /** What the agent wrote to stderr so far (capped). */
  stderr(): string;
  stop(): Promise<void>;
}

/** Why functional agent tests cannot run here, or undefined when they can. */
export async function agentUnavailable(binary = AGENT_BINARY): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (unshare --pid)';
  return access(binary).then(
    () => undefined,
    () => `${binary} is missing: build it with 'make -C agent'`,
  );
}

export async function startAgent(opts: StartAgentOptions = {}): Promise<RunningAgent> {
  const dir = await mkdtemp(join(tmpdir(), 'shed-agent-test-'));
  trackTempDir(dir);
  const binary = opts.binary ?? AGENT_BINARY;
  let listener: AgentListener | undefined;
  let child: ChildProcess | undefined;
  try {
    const jail = opts.jail === true ? await prepareJail(dir, binary) : undefined;
    listener = await AgentListener.listen(jail?.hostSocket ?? join(dir, 'agent.sock'), { readyTimeoutMs: opts.readyTimeoutMs });
    const agentArgs = ['--connect', `unix:${jail?.agentSocket ?? listener.path}`, ...(opts.args ?? [])];
    const ns = ['--pid', '--fork', '--kill-child', ...(opts.uts === true ? ['--uts'] : [])];
    const args = jail !== undefined ? [...ns, '--mount', ...jailCommand(jail, agentArgs)] : [...ns, '--mount-proc', binary, ...agentArgs];
    child = spawn('unshare', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    return await attach(dir, listener, child, opts.readyTimeoutMs ?? 10_000);
  } catch (err) {
    await teardown(dir, listener, child, undefined);
    throw err;
  }
}

async function attach(dir: string, listener: AgentListener, child: ChildProcess, timeoutMs: number): Promise<RunningAgent> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    if (stderr.length < STDERR_LIMIT_BYTES) stderr += c.toString();
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, sig) => reject(new Error(`agent launcher exited (${code ?? sig}) before connecting: ${stderr}`)));
  });
  exited.catch(() => undefined);
  const client = await Promise.race([listener.accept({ signal: AbortSignal.timeout(timeoutMs) }), exited]);
  const launcherPid = child.pid ?? 0;
  const [agentPid] = await childrenOf(launcherPid);
  if (agentPid === undefined) throw new Error('the agent process was not found under unshare');
  const ns = await pidNamespace(agentPid);
  if (ns !== undefined) trackNamespace(ns);
  return {
    dir, listener, client, launcherPid, agentPid,
    stderr: () => stderr,
    stop: () => teardown(dir, listener, child, agentPid),
  };
}

async function teardown(dir: string, listener: AgentListener | undefined, child: ChildProcess | undefined, agentPid: number | undefined): Promise<void> {
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    process.kill(child.pid, 'SIGKILL');
    await gone;
  }
  for (let i = 0; agentPid !== undefined && (await isRunning(agentPid)) && i < 100; i++) await sleep(20);
  await listener?.close();
  await rm(dir, { recursive: true, force: true });
}
