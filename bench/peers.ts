// What a sandbox start is measured against: the OCI runtime shed's driver chose, running
// `true` on the same image rootfs with the same namespaces, id map and cgroup limits (the
// floor under any container create), and podman when it is installed.
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseContainerHandles } from '@shed/server';

export interface RuntimeAlone {
  readonly name: string;
  /** Runs `true` in a fresh container (create, start, wait, delete); resolves with its exit code. */
  runTrue(i: number): Promise<number | null>;
  close(): Promise<void>;
}

/**
 * The runtime of a live sandbox (from its handles) with that sandbox's own config.json,
 * changed only where it must be: the command is `/bin/true`, the root is the image rootfs
 * read-only (no overlay), and the agent's bind mounts are gone.
 */
export async function runtimeAlone(sandboxRunDir: string, imageRootfs: string, workDir: string): Promise<RuntimeAlone> {
  const h = parseContainerHandles(JSON.parse(await readFile(join(sandboxRunDir, 'handles.json'), 'utf8'))).data;
  const config = asOciConfig(JSON.parse(await readFile(join(sandboxRunDir, 'config.json'), 'utf8')));
  config.process.args = ['/bin/true'];
  config.root = { path: imageRootfs, readonly: true };
  config.mounts = config.mounts.filter((m) => !m.destination.startsWith('/dev/.shed'));
  const bundle = join(workDir, 'bundle');
  const state = join(workDir, 'state');
  await mkdir(bundle, { recursive: true, mode: 0o711 });
  const scope = config.linux.cgroupsPath.slice(0, config.linux.cgroupsPath.lastIndexOf('/'));
  return {
    name: h.runtime,
    runTrue: async (i) => {
      config.linux.cgroupsPath = `${scope}/bench-${i}`;
      await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
      return exitOf(h.runtimePath, ['--root', state, 'run', '--bundle', bundle, `bench-${i}`]);
    },
    close: () => rm(workDir, { recursive: true, force: true }),
  };
}

/** The fields of the driver's config.json this file changes; the rest is passed through untouched. */
interface OciConfig {
  process: { args: string[] };
  root: { path: string; readonly: boolean };
  mounts: { destination: string }[];
  linux: { cgroupsPath: string };
}

function asOciConfig(v: unknown): OciConfig {
  const c = v as Partial<Record<keyof OciConfig, unknown>> | null; // Checked field by field below.
  const ok = typeof c === 'object' && c !== null && Array.isArray(c.mounts) && typeof c.process === 'object' && c.process !== null
    && typeof (c.linux as { cgroupsPath?: unknown } | undefined)?.cgroupsPath === 'string';
  if (!ok) throw new Error('the sandbox config.json lacks process, mounts or linux.cgroupsPath');
  return c as OciConfig; // The fields used here were checked just above.
}

function exitOf(file: string, args: readonly string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
}

/** podman's path, or null when it is not installed. */
export async function findPodman(): Promise<string | null> {
  return promisify(execFile)('sh', ['-c', 'command -v podman']).then((r) => r.stdout.trim() || null, () => null);
}

/** podman on the same unpacked rootfs shed's sandboxes use, no network, removed after. */
export function podmanRunTrue(podman: string, rootfs: string): Promise<number | null> {
  return exitOf(podman, ['run', '--rm', '--network', 'none', '--rootfs', rootfs, '/bin/true']);
}
