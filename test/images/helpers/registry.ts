// A real Docker registry (Debian's docker-registry) on 127.0.0.1, started and stopped by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../helpers/free-port.js';

export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:39123. */
  readonly host: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * A docker-registry on a free loopback port. The port is free when picked but may be taken
 * before the registry binds it (another process on a busy host): then it tries another.
 */
export async function startRegistry(): Promise<TestRegistry> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRegistryOnce();
    } catch (err) {
      if (attempt >= 3 || !(err instanceof Error && /address already in use/.test(err.message))) throw err;
    }
  }
}

async function startRegistryOnce(): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'shed-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  // Up to 20 s: a Go binary's start on a loaded host can take a while.
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    if (child.exitCode !== null) break;
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false);
    if (ok) return { host: `127.0.0.1:${port}`, pid: child.pid ?? -1, stop };
    await sleep(50);
  }
  await stop();
  throw new Error(`docker-registry did not come up on 127.0.0.1:${port}: ${stderr}`);
}

/** Whether a process with this pid still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
