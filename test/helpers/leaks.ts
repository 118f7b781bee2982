// A leak check for tests that start agents: after a test file, nothing it started may
// remain — no process in a pid namespace it created, no process naming one of its temp
// dirs, no temp dir.
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { allPids, cmdline, isRunning, pidNamespace } from './procs.js';

const namespaces = new Set<string>();
const tempDirs = new Set<string>();

/** Remembers a pid namespace an agent was started in. */
export function trackNamespace(ns: string): void {
  namespaces.add(ns);
}

/** Remembers a temp dir; agents started there name it in their command line. */
export function trackTempDir(dir: string): void {
  tempDirs.add(dir);
}

async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await allPids()) {
    // Zombies hold nothing but a pid, and reaping orphans is the host init's job.
    if (pid === process.pid || !(await isRunning(pid))) continue;
    const ns = await pidNamespace(pid);
    const cmd = (await cmdline(pid)) ?? '';
    if ((ns !== undefined && namespaces.has(ns)) || [...tempDirs].some((d) => cmd.includes(d))) {
      found.push(`pid ${pid} (${ns ?? '?'}): ${cmd}`);
    }
  }
  for (const d of tempDirs) {
    if (await access(d).then(() => true, () => false)) found.push(`temp dir ${d}`);
  }
  return found;
}

/**
 * Asserts that every agent process and temp dir this test file made is gone. Processes
 * get a moment to die: a SIGKILLed namespace is torn down asynchronously by the kernel.
 */
export async function assertNoLeaks(): Promise<void> {
  let found = await leftovers();
  for (let i = 0; i < 40 && found.length > 0; i++) {
    await sleep(50);
    found = await leftovers();
  }
  assert.deepEqual(found, [], 'processes or temp dirs left behind');
}
