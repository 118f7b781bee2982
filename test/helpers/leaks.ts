// A leak check for tests that start agents: after a test file, nothing it started may
// remain — no process it launched, none in a pid namespace one of them created, no temp
// dir. Launched processes carry SHED_TEST_RUN=<their temp dir> in their environment
// (kept across unshare, sh and chroot), which identifies them even when their command
// line does not (a jailed agent) and tells them apart from agents other tests run.
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { allPids, cmdline, isRunning, pidNamespace } from './procs.js';

export const RUN_TAG = 'SHED_TEST_RUN';
const tempDirs = new Set<string>();

/** Remembers a temp dir; processes launched for it carry `${RUN_TAG}=<dir>`. */
export function trackTempDir(dir: string): void {
  tempDirs.add(dir);
}

async function tagOf(pid: number): Promise<string | undefined> {
  const env = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
  const entry = env.split('\0').find((e) => e.startsWith(`${RUN_TAG}=`));
  return entry?.slice(RUN_TAG.length + 1);
}

async function leftovers(): Promise<string[]> {
  const procs: { pid: number; ns: string | undefined; ours: boolean }[] = [];
  for (const pid of await allPids()) {
    // Zombies hold nothing but a pid, and reaping orphans is the host init's job.
    if (pid === process.pid || !(await isRunning(pid))) continue;
    const tag = await tagOf(pid);
    procs.push({ pid, ns: await pidNamespace(pid), ours: tag !== undefined && tempDirs.has(tag) });
  }
  // A namespace is ours when one of our launched processes lives in it (its init does).
  const ourNamespaces = new Set(procs.filter((p) => p.ours && p.ns !== undefined).map((p) => p.ns));
  const found: string[] = [];
  for (const p of procs) {
    if (p.ours || (p.ns !== undefined && ourNamespaces.has(p.ns) && p.ns !== (await pidNamespace(process.pid)))) {
      found.push(`pid ${p.pid} (${p.ns ?? '?'}): ${(await cmdline(p.pid)) ?? ''}`);
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
