import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ShedError } from '../core/errors.js';
import { findMirror } from './apt-sources.js';
import { hostPlatform } from './oci.js';
import { runTool } from './run-tool.js';
import { dirEntries, writeTar } from './tar-writer.js';

export interface DebianBuildOptions {
  /** Where the tarball is kept (outside the data dir, so a new data dir imports it in seconds). */
  readonly cacheDir: string;
  /** @default 'bookworm' */
  readonly suite?: string;
  /** @default the host's apt mirror for the suite */
  readonly mirror?: string;
  /** More packages to install (debootstrap --include), named in the tarball's file name. @default none */
  readonly include?: readonly string[];
  /** @default 'debootstrap' */
  readonly debootstrapPath?: string;
  readonly fresh?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Drops what debootstrap leaves for apt's own use: the downloaded .debs (~90 MiB) and the
 * package lists (~50 MiB), as Debian's official container images do. `apt-get update`
 * fetches the lists again in a sandbox that needs them.
 */
async function trimRootfs(root: string): Promise<void> {
  for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    for (const name of await readdir(join(root, dir)).catch(() => [])) {
      if (name !== 'partial' && name !== 'lock') await rm(join(root, dir, name), { recursive: true, force: true });
    }
  }
  await rm(join(root, 'var/cache/apt/pkgcache.bin'), { force: true });
  await rm(join(root, 'var/cache/apt/srcpkgcache.bin'), { force: true });
}

export function debianTarball(cacheDir: string, suite = 'bookworm', include: readonly string[] = []): string {
  const extra = include.map((p) => `+${p}`).join('');
  return join(cacheDir, `debian-${suite}-minbase${extra}-${hostPlatform().architecture}.tar`);
}

/**
 * Returns the cached debian rootfs tarball, building it first with debootstrap (minbase)
 * from the host's apt mirror when it is missing or `fresh` is asked. Takes minutes: it
 * downloads and installs ~100 packages.
 */
export async function ensureDebianTarball(o: DebianBuildOptions): Promise<string> {
  const suite = o.suite ?? 'bookworm';
  const include = o.include ?? [];
  if (include.some((p) => !/^[a-z0-9][a-z0-9+.-]*$/.test(p))) {
    throw new ShedError('invalid_argument', `package names to include must be Debian package names; got ${include.join(', ')}`);
  }
  const out = debianTarball(o.cacheDir, suite, include);
  if (!o.fresh && (await stat(out).catch(() => undefined))?.isFile()) return out;
  const mirror = o.mirror ?? (await findMirror(suite));
  if (mirror === undefined) {
    throw new ShedError('failed_precondition', `no apt mirror for '${suite}' in /etc/apt/sources.list*; pass a debian mirror to build the debian image`);
  }
  await mkdir(o.cacheDir, { recursive: true, mode: 0o755 });
  const work = await mkdtemp(join(o.cacheDir, '.tmp-debootstrap-'));
  try {
    const target = join(work, 'rootfs');
    const bin = o.debootstrapPath ?? 'debootstrap';
    const r = await runTool(bin, ['--variant=minbase', ...(include.length > 0 ? [`--include=${include.join(',')}`] : []), suite, target, mirror], { pkg: 'debootstrap', ...(o.signal ? { signal: o.signal } : {}) });
    if (r.code !== 0) {
      throw new ShedError('unavailable', `debootstrap of ${suite} from ${mirror} failed (${r.signal ?? `exit ${r.code}`}): ${r.output.trim().split('\n').slice(-5).join(' | ')}`);
    }
    await trimRootfs(target);
    const tmpTar = join(work, 'rootfs.tar');
    await writeTar(dirEntries(target, { skipped: 0 }), tmpTar);
    await rename(tmpTar, out);
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
