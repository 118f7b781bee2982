// What a driver test needs: a tracked temp dir with run/state roots, a busybox rootfs shifted
// to the sandbox id range, and specs for new sandboxes.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { newSandboxId, type DriverCreateSpec, type Resources, type SandboxId } from '@shed/server';
import { leakCheckedTempDir, trackRunRoot } from '../helpers/leaks.js';

const repo = resolve(fileURLToPath(import.meta.url), '../../../..');
export const HOST_ID = 100_000;
export const ID_RANGE = 65_536;
export const AGENT_PATH = join(repo, 'agent/out/shed-agent');

/** Builds (once, cached in .cache/) the busybox-static fixture rootfs owned by the shifted range. */
export async function fixtureRootfs(): Promise<string> {
  const out = join(repo, '.cache/fixtures', `busybox-rootfs-${HOST_ID}`);
  await mkdir(join(repo, '.cache/fixtures'), { recursive: true });
  await promisify(execFile)('bash', [join(repo, 'test/fixtures/rootfs/build-busybox.sh'), out, String(HOST_ID)]);
  return out;
}

export interface SandboxEnv {
  readonly dir: string;
  readonly runRoot: string;
  readonly stateRoot: string;
  readonly rootfs: string;
  spec(overrides?: { id?: SandboxId; resources?: Partial<Resources>; lowerDirs?: string[] }): DriverCreateSpec;
}

export async function sandboxEnv(prefix: string): Promise<SandboxEnv> {
  const dir = await leakCheckedTempDir(prefix);
  const runRoot = join(dir, 'run');
  const stateRoot = join(dir, 'state');
  trackRunRoot(runRoot);
  const rootfs = await fixtureRootfs();
  return {
    dir,
    runRoot,
    stateRoot,
    rootfs,
    spec: (o = {}) => {
      const id = o.id ?? newSandboxId();
      return {
        id,
        lowerDirs: o.lowerDirs ?? [rootfs],
        hostname: id,
        resources: { memoryMiB: 256, cpuMillis: 1000, pidsMax: 128, ...o.resources },
        network: 'none',
        idMap: { hostId: HOST_ID, size: ID_RANGE },
        stateDir: join(stateRoot, id),
        runDir: join(runRoot, id),
      };
    },
  };
}
