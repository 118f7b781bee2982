// Memory snapshots of containers need CRIU working on this kernel (`criu check`) and an OCI
// runtime built with checkpoint support. Either missing makes the capability absent, with the
// reason; the probe never throws, since a host without it still runs sandboxes.
import { errorMessage } from '../../../core/errors.js';
import type { CapabilityProbe } from '../../../core/driver.js';
import { CommandError, runCommand } from '../command.js';
import type { RuntimeName } from '../runtime.js';

export interface CriuProbeOptions {
  readonly runtime: { readonly name: RuntimeName; readonly path: string } | null;
  /** @default 'criu' (looked up in PATH) */
  readonly criuPath?: string;
}

export async function probeCriu(opts: CriuProbeOptions): Promise<CapabilityProbe> {
  const criu = opts.criuPath ?? 'criu';
  try {
    await runCommand(criu, ['check'], { timeoutMs: 20_000 });
  } catch (err) {
    return { available: false, reason: `'criu check' failed: ${lastLines(err)}` };
  }
  if (opts.runtime === null) return { available: false, reason: 'no OCI runtime is usable on this host' };
  const rt = await runtimeCheckpoints(opts.runtime.name, opts.runtime.path);
  if (rt !== null) return { available: false, reason: rt };
  const version = await runCommand(criu, ['--version']).then((r) => r.stdout.trim().split('\n')[0] ?? '', () => '');
  return { available: true, reason: `criu ${version.replace(/^Version:\s*/, '')}, ${opts.runtime.name} checkpoint` };
}

/** Why `runtime` cannot checkpoint, or null when it can. */
async function runtimeCheckpoints(name: RuntimeName, path: string): Promise<string | null> {
  if (name === 'crun') {
    // crun lists its build features on --version: '+CRIU' when checkpoint/restore is built in.
    const v = await runCommand(path, ['--version']).then((r) => r.stdout, () => '');
    return /\+CRIU\b/.test(v) ? null : `${path} was built without CRIU (no '+CRIU' in 'crun --version')`;
  }
  if (name === 'runc') {
    return runCommand(path, ['checkpoint', '--help']).then(() => null, (err) => `'runc checkpoint' is unavailable: ${lastLines(err)}`);
  }
  return `${name} has no checkpoint support shed knows how to drive`;
}

function lastLines(err: unknown): string {
  const text = err instanceof CommandError && err.stderr.trim() !== '' ? err.stderr : errorMessage(err);
  return text.trim().split('\n').slice(-2).join(' / ');
}
