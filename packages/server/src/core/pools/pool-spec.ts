// What a warm pool is: the sandboxes it keeps ready (an image or a snapshot, and a resource
// profile) and how many (min, targetFree, max, a memory budget). Checked here, in core, for
// both the API and the config file, so both get the same rules and the same messages.
import { LIMITS, MAX_POOL_MEMBERS, SANDBOX_NAME_PATTERN } from '@shed/protocol';
import type { NetworkMode, Resources } from '../driver.js';
import { invalidArgument } from '../errors.js';
import { isLayerId, type LayerId } from '../layers.js';

/** The profile a create must ask for (after defaults) to be served from the pool. */
export interface PoolProfile extends Resources {
  readonly network: NetworkMode;
}

/** Where members come from: exactly one of an image reference or a snapshot (members are its forks). */
export type PoolSource = { readonly image: string } | { readonly snapshot: LayerId };

export interface PoolSpec {
  /** Unique per host; same rules as a sandbox name. */
  readonly name: string;
  readonly source: PoolSource;
  readonly profile: PoolProfile;
  /** Free members restored first and always covered by the budget. */
  readonly min: number;
  /** Free members the replenisher aims for (capped by the budget). */
  readonly targetFree: number;
  /** Most members at once, free and being made. */
  readonly max: number;
  /** The members' memory limits together never exceed it. */
  readonly memoryBudgetMiB: number;
}

/** A pool as a caller asks for it; fields left out take the documented defaults. */
export interface PoolCommand {
  /** Image name or digest. Exactly one of image and snapshot. */
  image?: string;
  /** A snapshot (layer id): members are forks of it. */
  snapshot?: string;
  /** @default 512 */
  memoryMiB?: number;
  /** @default 1000 */
  cpuMillis?: number;
  /** @default 512 */
  pidsMax?: number;
  /** @default 'none' */
  network?: NetworkMode;
  /** @default 0 */
  min?: number;
  /** @default max(1, min) */
  targetFree?: number;
  /** @default max(4, targetFree) */
  max?: number;
  /** @default max × memoryMiB */
  memoryBudgetMiB?: number;
}

const NAME = new RegExp(SANDBOX_NAME_PATTERN);

/** Checks a pool command and fills in defaults; invalid_argument names the field and the fix. */
export function buildPoolSpec(name: string, cmd: PoolCommand): PoolSpec {
  if (!NAME.test(name)) throw invalidArgument(`pool name '${name}' must be 1-63 letters, digits, '_', '.' or '-', and not start with 'sb-'`, { pool: name });
  const profile = profileOf(cmd);
  const min = count('min', cmd.min ?? 0);
  const targetFree = count('targetFree', cmd.targetFree ?? Math.max(1, min));
  const max = count('max', cmd.max ?? Math.max(4, targetFree));
  if (min > max) throw invalidArgument(`min (${min}) is more than max (${max}); raise max or lower min`, { min, max });
  if (targetFree < min || targetFree > max) {
    throw invalidArgument(`targetFree (${targetFree}) must be from min (${min}) to max (${max})`, { min, max, targetFree });
  }
  const memoryBudgetMiB = cmd.memoryBudgetMiB ?? max * profile.memoryMiB;
  if (!Number.isInteger(memoryBudgetMiB) || memoryBudgetMiB < 0) throw invalidArgument(`memoryBudgetMiB must be a whole number of MiB; got ${memoryBudgetMiB}`);
  if (memoryBudgetMiB < min * profile.memoryMiB) {
    throw invalidArgument(
      `memoryBudgetMiB ${memoryBudgetMiB} is too small for min ${min} members of ${profile.memoryMiB} MiB; raise it to at least ${min * profile.memoryMiB} or lower min`,
      { memoryBudgetMiB, min, memoryMiB: profile.memoryMiB },
    );
  }
  return { name, source: sourceOf(cmd), profile, min, targetFree, max, memoryBudgetMiB };
}

/** The resource profile of a create or pool command, defaults filled in (the same ones buildSpec uses). */
export function profileOf(cmd: { memoryMiB?: number; cpuMillis?: number; pidsMax?: number; network?: NetworkMode }): PoolProfile {
  return {
    memoryMiB: bounded('memoryMiB', cmd.memoryMiB, LIMITS.memoryMiB),
    cpuMillis: bounded('cpuMillis', cmd.cpuMillis, LIMITS.cpuMillis),
    pidsMax: bounded('pidsMax', cmd.pidsMax, LIMITS.pidsMax),
    network: cmd.network ?? 'none',
  };
}

/** Members the pool may hold at once: max, and what the budget pays for. */
export function capacityOf(spec: PoolSpec): number {
  return Math.min(spec.max, Math.floor(spec.memoryBudgetMiB / spec.profile.memoryMiB));
}

export const sameProfile = (a: PoolProfile, b: PoolProfile): boolean =>
  a.memoryMiB === b.memoryMiB && a.cpuMillis === b.cpuMillis && a.pidsMax === b.pidsMax && a.network === b.network;

function sourceOf(cmd: PoolCommand): PoolSource {
  if ((cmd.image === undefined) === (cmd.snapshot === undefined)) {
    throw invalidArgument('a pool needs exactly one of image and snapshot', { image: cmd.image, snapshot: cmd.snapshot });
  }
  if (cmd.snapshot !== undefined) {
    if (!isLayerId(cmd.snapshot)) throw invalidArgument(`snapshot '${cmd.snapshot}' is not a snapshot id (ly-<16 hex>); list them with 'shed snapshot ls'`);
    return { snapshot: cmd.snapshot };
  }
  if (cmd.image === undefined || cmd.image.length === 0) throw invalidArgument("image is empty; use 'default' for the built-in image");
  return { image: cmd.image };
}

function count(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > MAX_POOL_MEMBERS) {
    throw invalidArgument(`${field} must be a whole number from 0 to ${MAX_POOL_MEMBERS}; got ${v}`, { [field]: v });
  }
  return v;
}

function bounded(field: string, value: number | undefined, l: { min: number; max: number; default: number }): number {
  const v = value ?? l.default;
  if (!Number.isInteger(v) || v < l.min || v > l.max) {
    throw invalidArgument(`${field} must be a whole number from ${l.min} to ${l.max}; got ${v}`, { [field]: v });
  }
  return v;
}
