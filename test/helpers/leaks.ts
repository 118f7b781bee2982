// The shared leak check: after a test file, nothing it made may remain. It looks for
//  - processes it launched (tagged SHED_TEST_RUN=<temp dir> in their environment, kept across
//    unshare, sh and chroot), processes in a pid namespace one of them created, sandbox
//    processes in the cgroup scope of a tracked run root, runtime processes naming a tracked dir;
//  - mounts under a tracked temp dir, or whose source/options name one (overlay lowers);
//  - OCI runtime containers in runtime roots under a tracked temp dir;
//  - cgroups in the cgroup scope of a tracked run root (the container driver's sandboxes);
//  - the tracked temp dirs themselves;
//  - network namespaces a test made (trackNetns), and shed veths (sh<hex>) in the host's netns;
//    inside a test's netns, shedNetworkLeftovers lists veths, nftables chains and elements.
// Each leak is reported with what it is. Scoped to what this test tracked, so tests running
// in parallel elsewhere on the host (other checkouts, other daemons) never trip it.
//
// Usage in a test file:
//   const dir = await leakCheckedTempDir('shed-conf-');   // tracked; removed by cleanupTempDirs
//   trackRunRoot(join(dir, 'run'));                        // when a driver runs sandboxes there
//   after(async () => { ...tear down...; await cleanupTempDirs(); await assertNoLeaks(); });
// or simply `useLeakCheck()` at the top of the file, which registers that `after` hook.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, chmod, mkdtemp, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupScope, readCgroupLayout } from '@shed/server';
import { allPids, cmdline, isRunning, pidNamespace } from './procs.js';

export const RUN_TAG = 'SHED_TEST_RUN';
const tempDirs = new Set<string>();
const runRoots = new Set<string>();
const netnsNames = new Set<string>();

export interface Leak {
  readonly kind: 'process' | 'mount' | 'container' | 'cgroup' | 'temp dir' | 'netns' | 'veth';
  readonly what: string;
  /** What cleanAfterLeaks acts on: a pid, a path, or a runtime container. */
  readonly pid?: number;
  readonly path?: string;
  readonly container?: { readonly runtime: string; readonly root: string; readonly id: string };
}

/** Remembers a temp dir; processes launched for it carry `${RUN_TAG}=<dir>`. */
export function trackTempDir(dir: string): void {
  tempDirs.add(dir);
}

/** Remembers a daemon/driver run root: its sandboxes' cgroups live in a scope derived from it. */
export function trackRunRoot(runRoot: string): void {
  runRoots.add(runRoot);
}

/** Remembers a network namespace (`ip netns add NAME`) the test made: it must be gone at the end. */
export function trackNetns(name: string): void {
  netnsNames.add(name);
}

/**
 * A fresh tracked temp dir. Mode 0711: a sandbox's mapped root (an unprivileged host uid) must
 * be able to traverse to the rootfs and bind sources below it.
 */
export async function leakCheckedTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o711);
  trackTempDir(dir);
  return dir;
}

/** Removes the tracked temp dirs, except one with something still mounted below it (a leak to report, not to delete through). */
export async function cleanupTempDirs(): Promise<void> {
  const mounts = await readMountPoints();
  for (const d of tempDirs) {
    if (mounts.some((m) => under(m, d))) continue;
    await rm(d, { recursive: true, force: true });
  }
}

/** Registers `after(cleanupTempDirs + assertNoLeaks)` for this test file. */
export function useLeakCheck(): void {
  after(async () => {
    await cleanupTempDirs();
    await assertNoLeaks();
  });
}

const under = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);
const mentionsTracked = (s: string): boolean => [...tempDirs].some((d) => s.includes(d));

async function tagOf(pid: number): Promise<string | undefined> {
  const env = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
  const entry = env.split('\0').find((e) => e.startsWith(`${RUN_TAG}=`));
  return entry?.slice(RUN_TAG.length + 1);
}

async function processLeaks(): Promise<Leak[]> {
  const scopes = [...runRoots].map((r) => cgroupScope(r));
  const procs: { pid: number; ns: string | undefined; ours: boolean; cgroup?: string }[] = [];
  for (const pid of await allPids()) {
    // Zombies hold nothing but a pid, and reaping orphans is the host init's job.
    if (pid === process.pid || !(await isRunning(pid))) continue;
    const tag = await tagOf(pid);
    const line = (await cmdline(pid)) ?? '';
    // A sandbox's processes live in the cgroup scope of a tracked run root (their /proc root
    // link reads '/' from the host: the overlay is in another mount namespace).
    const cgroups = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
    const inScope = cgroups.split('\n').find((l) => scopes.some((sc) => l.includes(`${sc}/`)));
    const ours = (tag !== undefined && tempDirs.has(tag)) || mentionsTracked(line) || inScope !== undefined;
    procs.push({ pid, ns: await pidNamespace(pid), ours, cgroup: inScope?.replace(/^\d+:[^:]*:/, '') });
  }
  // A namespace is ours when one of our processes lives in it (its init does).
  const self = await pidNamespace(process.pid);
  const ourNamespaces = new Set(procs.filter((p) => p.ours && p.ns !== undefined && p.ns !== self).map((p) => p.ns));
  const found: Leak[] = [];
  for (const p of procs) {
    if (p.ours || (p.ns !== undefined && ourNamespaces.has(p.ns))) {
      const where = p.cgroup === undefined ? '' : ` in cgroup ${p.cgroup}`;
      found.push({ kind: 'process', what: `pid ${p.pid} (${p.ns ?? '?'})${where}: ${(await cmdline(p.pid)) ?? ''}`, pid: p.pid });
    }
  }
  return found;
}

async function readMountInfo(): Promise<{ point: string; rest: string }[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => {
    const fields = l.split(' ');
    // Mount points escape space as \040 (man 5 proc).
    return { point: (fields[4] ?? '').replace(/\\040/g, ' '), rest: l.slice(l.indexOf(' - ') + 3) };
  });
}

async function readMountPoints(): Promise<string[]> {
  return (await readMountInfo()).map((m) => m.point);
}

async function mountLeaks(): Promise<Leak[]> {
  return (await readMountInfo())
    .filter((m) => [...tempDirs].some((d) => under(m.point, d)) || mentionsTracked(m.rest))
    .map((m) => ({ kind: 'mount', what: `${m.point} (${m.rest})`, path: m.point }));
}

/** Runtime state dirs (`<run root>/.oci/<runtime>/<container id>`) anywhere below a tracked dir. */
async function containerLeaks(): Promise<Leak[]> {
  const found: Leak[] = [];
  const visit = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (e.name === '.oci') {
        for (const rt of await readdir(join(dir, '.oci')).catch(() => [])) {
          for (const id of await readdir(join(dir, '.oci', rt)).catch(() => [])) {
            const root = join(dir, '.oci', rt);
            found.push({ kind: 'container', what: `${rt} container ${id} (root ${root})`, container: { runtime: rt, root, id } });
          }
        }
      } else if (depth > 0) await visit(join(dir, e.name), depth - 1);
    }
  };
  for (const d of tempDirs) await visit(d, 3);
  return found;
}

/** Sandbox cgroups left in the scope of a tracked run root; empty scope dirs are removed. */
async function cgroupLeaks(): Promise<Leak[]> {
  const found: Leak[] = [];
  const layout = await readCgroupLayout();
  for (const root of runRoots) {
    for (const h of layout.hierarchies) {
      const scopeDir = join(h.mountPoint, cgroupScope(root));
      for (const e of await readdir(scopeDir, { withFileTypes: true }).catch(() => [])) {
        if (e.isDirectory()) found.push({ kind: 'cgroup', what: join(scopeDir, e.name), path: join(scopeDir, e.name) });
      }
      // The scope itself is the daemon's, like a slice: its sweep removes it once empty.
      await rmdir(scopeDir).catch(() => undefined);
    }
  }
  return found;
}

async function tempDirLeaks(): Promise<Leak[]> {
  const found: Leak[] = [];
  for (const d of tempDirs) {
    if (await access(d).then(() => true, () => false)) found.push({ kind: 'temp dir', what: d, path: d });
  }
  return found;
}

async function netnsLeaks(): Promise<Leak[]> {
  const names = new Set(await readdir('/run/netns').catch(() => []));
  return [...netnsNames].filter((n) => names.has(n)).map((n) => ({ kind: 'netns', what: `/run/netns/${n}` }));
}

/** Veths named like shed's host ends (sh + 12 hex) in the host's own netns: only a shedd outside a test netns makes them. */
async function hostVethLeaks(): Promise<Leak[]> {
  if (netnsNames.size === 0) return [];
  const names = await readdir('/sys/class/net').catch(() => []);
  return names.filter((n) => /^sh[0-9a-f]{12}$/.test(n)).map((n) => ({ kind: 'veth', what: n }));
}

/**
 * What of shed's network is left inside network namespace `ns` (a test's daemon netns):
 * host veths (sh<hex>), sandbox chains of table inet shed and the elements of its maps and
 * of table bridge shed's sets. Asked before the test deletes the namespace, which would hide them.
 */
export async function shedNetworkLeftovers(ns: string): Promise<string[]> {
  const run = (args: string[]): Promise<string> => new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    c.once('error', () => resolve(''));
    c.once('close', () => resolve(out));
  });
  const found: string[] = [];
  const links = await run(['ip', '-o', 'link', 'show', 'type', 'veth']);
  for (const m of links.matchAll(/^\d+: (sh[0-9a-f]{12})[@:]/gm)) found.push(`veth ${m[1]}`);
  const rules = (await run(['nft', 'list', 'table', 'inet', 'shed'])) + (await run(['nft', 'list', 'table', 'bridge', 'shed']));
  for (const m of rules.matchAll(/chain (sb-[0-9a-f]{12})/g)) found.push(`nft chain ${m[1]}`);
  for (const m of rules.matchAll(/elements = \{([^}]*)\}/g)) found.push(`nft elements ${(m[1] ?? '').trim()}`);
  return found;
}

/** Everything this test file tracked that is still there. */
export async function findLeaks(): Promise<Leak[]> {
  const all = await Promise.all([processLeaks(), mountLeaks(), containerLeaks(), cgroupLeaks(), tempDirLeaks(), netnsLeaks(), hostVethLeaks()]);
  return all.flat();
}

/**
 * Asserts that nothing this test file made is left. Processes get a moment to die: a
 * SIGKILLed namespace is torn down asynchronously by the kernel.
 */
export async function assertNoLeaks(): Promise<void> {
  let found = await findLeaks();
  for (let i = 0; i < 40 && found.length > 0; i++) {
    await sleep(50);
    found = await findLeaks();
  }
  if (found.length > 0) await cleanAfterLeaks(found);
  assert.deepEqual(found.map((l) => `${l.kind}: ${l.what}`), [], 'left behind');
}

const quietly = (file: string, args: readonly string[]): Promise<void> =>
  new Promise((resolve) => {
    const c = spawn(file, args, { stdio: 'ignore' });
    c.once('error', () => resolve());
    c.once('close', () => resolve());
  });

/**
 * After reporting leaks, removes them so one failing test does not leave the host dirty for
 * the next: everything here was found under this file's tracked dirs and scopes, so it is this
 * file's own (processes are killed by pid).
 */
export async function cleanAfterLeaks(leaks: readonly Leak[]): Promise<void> {
  for (const l of leaks) {
    if (l.pid === undefined) continue;
    try {
      process.kill(l.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const l of leaks) if (l.container !== undefined) await quietly(l.container.runtime, ['--root', l.container.root, 'delete', '--force', l.container.id]);
  const deepestFirst = (kind: Leak['kind']): string[] =>
    leaks.filter((l) => l.kind === kind && l.path !== undefined).map((l) => l.path ?? '').sort((a, b) => b.length - a.length);
  for (const m of deepestFirst('mount')) await quietly('umount', ['-l', m]);
  await sleep(100); // killed processes leave their cgroups as the kernel reaps them
  for (const c of deepestFirst('cgroup')) await rmdir(c).catch(() => undefined);
  for (const l of leaks) if (l.kind === 'netns') await quietly('ip', ['netns', 'del', l.what.slice('/run/netns/'.length)]);
  await cleanupTempDirs();
}
