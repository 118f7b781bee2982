// A real shedd for end-to-end tests: the built daemon (packages/server/dist/daemon/main.js)
// as a child process on a tracked temp dir, with the container driver and the real image
// store. Readiness is its READY line on an inherited pipe; it is stopped by its pid.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, open, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Shed } from '@shed/sdk';
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
  // Up to 30 s: a stop on a loaded host can take a while, and a shedd still running fails the leak check.
  for (const deadline = Date.now() + 30_000; Date.now() < deadline && (await isRunning(pid));) await new Promise((r) => setTimeout(r, 10));
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

/** One shedd for a describe block, from `useShedd`: its dirs, the current daemon and a client connected to it. */
export interface SheddFixture {
  readonly dirs: DaemonDirs;
  readonly d: Shedd;
  readonly shed: Shed;
  /**
   * Closes the client, stops shedd (`how`: SIGTERM or SIGKILL), starts it again on the same dirs
   * and reconnects. `extras` are for this start only (no config file either); without them, the block's own.
   */
  restart(how: 'stop' | 'kill9', extras?: StartExtras): Promise<void>;
  /** Starts shedd again on the same dirs and reconnects, after a test stopped or killed it itself (and closed the client). */
  start(extras?: StartExtras): Promise<void>;
}

export interface UseSheddOptions {
  /** The extras of every start. */
  readonly extras?: StartExtras;
  /** A config file's text: written to shedd.toml in the dirs, and passed with --config before the extras' args. */
  readonly config?: string;
  /** Runs first in the after hook, while shedd still serves (a check on the daemon, a tool's own server to stop); the cleanup runs even if it throws. */
  readonly beforeCleanup?: () => Promise<void>;
}

/**
 * Registers a `before` that starts shedd on fresh tracked dirs and connects, and an `after` that
 * deletes what the tests left (deleteAll), closes the client and stops shedd. Call it inside
 * `describe`, before the block's own hooks; the fixture's fields are set once its `before` ran.
 */
export function useShedd(prefix: string, options: UseSheddOptions = {}): SheddFixture {
  let dirs: DaemonDirs | undefined;
  let d: Shedd | undefined;
  let shed: Shed | undefined;
  let extras: StartExtras = {};
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`useShedd: ${what} is not there before the before hook runs`);
    return v;
  };
  const boot = async (once?: StartExtras): Promise<void> => {
    d = await startShedd(ready(dirs, 'dirs'), once ?? extras);
    shed = await Shed.connect({ socketPath: d.socketPath });
  };
  before(async () => {
    dirs = await daemonDirs(prefix);
    extras = options.extras ?? {};
    if (options.config !== undefined) {
      const path = join(dirs.dir, 'shedd.toml');
      await writeFile(path, options.config);
      extras = { ...extras, args: ['--config', path, ...(extras.args ?? [])] };
    }
    await boot();
  });
  after(async () => {
    try {
      await options.beforeCleanup?.();
    } finally {
      // Stopped even when a delete fails: a shedd left running fails the leak check louder than the delete.
      try {
        if (shed !== undefined) await deleteAll(shed);
      } finally {
        shed?.close();
        await d?.stop();
      }
    }
  });
  return {
    get dirs() { return ready(dirs, 'dirs'); },
    get d() { return ready(d, 'shedd'); },
    get shed() { return ready(shed, 'the client'); },
    async restart(how, once) {
      ready(shed, 'the client').close();
      await ready(d, 'shedd')[how]();
      await boot(once);
    },
    start: boot,
  };
}

/** API-made pools, then sandboxes, then snapshots newest first (a fork's snapshot may hang off an older one). */
async function deleteAll(shed: Shed): Promise<void> {
  for (const p of await shed.pools.list()) if (p.origin === 'api') await shed.pools.delete(p.name);
  for (const s of await shed.sandboxes.list()) await s.delete();
  for (const s of (await shed.snapshots.list()).reverse()) await shed.snapshots.delete(s).catch(() => undefined);
}
