// A real shedd for end-to-end tests: the built daemon (packages/server/dist/daemon/main.js)
// as a child process on a tracked temp dir, with the container driver and the real image
// store. Readiness is its READY line on an inherited pipe; it is stopped by its pid.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseContainerHandles, type ContainerHandleData } from '@shed/server';
import { leakCheckedTempDir, RUN_TAG, trackRunRoot } from '../helpers/leaks.js';
import { isRunning } from '../helpers/procs.js';

export const repo = resolve(fileURLToPath(import.meta.url), '../../../..');
export const SHEDD = join(repo, 'packages/server/dist/daemon/main.js');
export const CLI = join(repo, 'packages/cli/dist/main.js');

/** The directories one daemon uses; a restarted daemon gets the same ones. */
export interface DaemonDirs {
  readonly dir: string;
  readonly dataDir: string;
  readonly runDir: string;
  readonly socketPath: string;
  readonly logPath: string;
  /** SHED_* variables that point the CLI (and an on-demand shedd) at these directories. */
  readonly env: Readonly<Record<string, string>>;
}

export interface Shedd extends DaemonDirs {
  readonly pid: number;
  /** SIGTERM, then wait for it to exit: sandboxes keep running. */
  stop(): Promise<void>;
  /** SIGKILL, then wait for it to exit: the crash shed promises to survive. */
  kill9(): Promise<void>;
}

/** Why these tests cannot run here, or undefined when they can. */
export async function e2eUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (the container driver mounts, and runs a user namespace)';
  for (const f of [SHEDD, CLI, join(repo, 'agent/out/shed-agent')]) {
    if (!(await access(f).then(() => true, () => false))) return `${f} is missing: run 'bash scripts/setup.sh'`;
  }
  return undefined;
}

/** A tracked temp dir laid out as shedd's data and run dirs. */
export async function daemonDirs(prefix: string): Promise<DaemonDirs> {
  const dir = await leakCheckedTempDir(prefix);
  const dataDir = join(dir, 'data');
  const runDir = join(dir, 'run');
  // Sandboxes' cgroups live in a scope derived from the parent of their run dirs.
  trackRunRoot(join(runDir, 'sandboxes'));
  const socketPath = join(runDir, 'shed.sock');
  return {
    dir, dataDir, runDir, socketPath, logPath: join(dir, 'shedd.log'),
    env: { SHED_DATA_DIR: dataDir, SHED_RUN_DIR: runDir, SHED_SOCKET: socketPath, [RUN_TAG]: dir },
  };
}

/** More for one start: flags after the directory flags, variables over the dirs' env (config, fault injection). */
export interface StartExtras {
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Run shedd in this network namespace (`ip netns add NAME`), so network 'nat' sets up its
   * bridge and rules there and no sandbox traffic can leave the machine (test/helpers/netns.ts).
   * Entered with nsenter --net only: unlike `ip netns exec`, it keeps the host's mount
   * namespace, which the sandboxes' mounts and the leak check share.
   */
  readonly netns?: string;
}

/** Starts shedd on `dirs` and resolves once it serves (its READY line). */
export async function startShedd(dirs: DaemonDirs, extras: StartExtras = {}): Promise<Shedd> {
  const log = await open(dirs.logPath, 'a');
  let child: ChildProcess;
  try {
    const argv = [SHEDD, '--data-dir', dirs.dataDir, '--run-dir', dirs.runDir, '--ready-fd', '3', ...(extras.args ?? [])];
    const [cmd, args] = extras.netns === undefined ? [process.execPath, argv] : ['nsenter', [`--net=/run/netns/${extras.netns}`, '--', process.execPath, ...argv]];
    child = spawn(cmd, args, {
      env: { ...process.env, ...dirs.env, ...extras.env },
      stdio: ['ignore', log.fd, log.fd, 'pipe'],
    });
  } finally {
    await log.close();
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('shedd did not start');
  await waitReady(child, dirs.logPath);
  const exited = new Promise<void>((done) => (child.exitCode !== null || child.signalCode !== null ? done() : child.once('exit', () => done())));
  const end = async (sig: NodeJS.Signals): Promise<void> => {
    if (await isRunning(pid)) child.kill(sig);
    await exited;
  };
  return { ...dirs, pid, stop: () => end('SIGTERM'), kill9: () => end('SIGKILL') };
}

function waitReady(child: ChildProcess, logPath: string): Promise<void> {
  const pipe = child.stdio[3];
  if (pipe === null || pipe === undefined) return Promise.reject(new Error('no readiness pipe'));
  return new Promise((done, fail) => {
    let text = '';
    const failed = (): void => fail(new Error(`shedd did not become ready; see ${logPath}`));
    pipe.on('data', (b: Buffer) => {
      text += b.toString();
      if (text === 'READY\n') done();
    });
    pipe.on('end', () => (text === 'READY\n' ? done() : failed()));
    child.once('exit', () => (text === 'READY\n' ? undefined : failed()));
  });
}

/** Stops a shedd this test did not spawn itself (the CLI's on-demand start), by the pid it reports. */
export async function stopByPid(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 500 && (await isRunning(pid)); i++) await new Promise((r) => setTimeout(r, 10));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `shed args…` with the SHED_* variables of `dirs` (and nothing else of the caller's environment). */
export function runCli(dirs: DaemonDirs, ...args: string[]): Promise<CliResult> {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...dirs.env };
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

/** What the daemon recorded of a running container sandbox (its handles.json): init pid, cgroups, runtime state. */
export async function containerHandles(dirs: DaemonDirs, id: string): Promise<ContainerHandleData> {
  return parseContainerHandles(JSON.parse(await readFile(join(dirs.runDir, 'sandboxes', id, 'handles.json'), 'utf8'))).data;
}
