// A throwaway root for an agent under fuzzing: mutated frames may name any path, so the
// agent runs chrooted in a read-only bind of a temp dir, with a tmpfs at /scratch as the
// only writable place and no programs but itself. Everything lives in a private mount
// namespace that disappears with the agent.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface Jail {
  readonly root: string;
  /** The socket path as the host sees it. */
  readonly hostSocket: string;
  /** The same socket as the agent sees it. */
  readonly agentSocket: string;
  /** Host library directories bound read-only into the root (for a dynamically linked build). */
  readonly libDirs: readonly string[];
}

/** Library directories a dynamically linked binary needs, from ldd. */
async function libDirs(binary: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ldd', [binary]).catch(() => ({ stdout: '' }));
  if (/not a dynamic executable|statically linked/.test(stdout) || stdout === '') return [];
  return ['/lib', '/lib64', '/usr/lib'];
}

export async function prepareJail(dir: string, binary: string): Promise<Jail> {
  const root = join(dir, 'root');
  const dirs = await libDirs(binary);
  for (const d of ['sock', 'scratch', 'proc', 'dev', ...dirs.map((l) => l.slice(1))]) await mkdir(join(root, d), { recursive: true });
  await writeFile(join(root, 'dev/null'), '');
  await copyFile(binary, join(root, 'shed-agent'));
  return { root, hostSocket: join(root, 'sock/agent.sock'), agentSocket: '/sock/agent.sock', libDirs: dirs };
}

/** The `sh -c` that builds the jail's mounts and execs the agent in it (as the same pid). */
export function jailCommand(jail: Jail, agentArgs: readonly string[]): string[] {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const r = q(jail.root);
  const steps = [
    `mount --bind ${r} ${r}`,
    `mount -o remount,bind,ro ${r}`,
    `mount -t tmpfs -o size=64m tmpfs ${r}/scratch`,
    `mount --bind /dev/null ${r}/dev/null`,
    // Sanitizers read /proc/self/maps; read-only so no sysctl can be written.
    `mount -t proc -o ro proc ${r}/proc`,
    ...jail.libDirs.map((d) => `mount --bind -o ro ${d} ${r}${d}`),
    `exec chroot ${r} /shed-agent ${agentArgs.map(q).join(' ')}`,
  ];
  return ['sh', '-c', steps.join(' && ')];
}
