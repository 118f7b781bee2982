// Fork: N sandboxes on one snapshot's files, made with the ordinary create (cold path), all
// or none — a fork that fails part way deletes the sandboxes it had made.
import { randomBytes } from 'node:crypto';
import { ShedError, asShedError } from './errors.js';
import type { SandboxId } from './ids.js';
import type { LayerId } from './layers.js';
import type { CreateSandboxCommand } from './sandbox-spec.js';
import type { Persistence, SandboxRecord } from './sandboxes.js';
import { FORK_IN_FLIGHT, forkSource, layerRepoOf } from './snapshots.js';

export const MAX_FORKS = 32;

export interface ForkOptions {
  /** How many sandboxes. @default 1 */
  count?: number;
  /** Their names, one per sandbox when given. @default none */
  names?: readonly string[];
  signal?: AbortSignal;
}

/** What fork needs from the sandbox service. */
export interface ForkHooks {
  create(cmd: CreateSandboxCommand): Promise<SandboxRecord>;
  remove(id: SandboxId): Promise<void>;
  forked(rec: SandboxRecord, layer: LayerId): void;
}

export async function forkOf(store: Persistence, snapshot: string, opts: ForkOptions, hooks: ForkHooks): Promise<SandboxRecord[]> {
  const count = opts.count ?? opts.names?.length ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_FORKS) {
    throw new ShedError('invalid_argument', `count must be a whole number from 1 to ${MAX_FORKS}; got ${count}`, { details: { count } });
  }
  if (opts.names !== undefined && opts.names.length !== count) {
    throw new ShedError('invalid_argument', `names has ${opts.names.length} entries for ${count} forks; give one per fork`, { details: { count } });
  }
  const layer = forkSource(store, snapshot);
  // Held while the creates run, so the snapshot cannot be deleted under their mounts before
  // each create's own ref is written. A crash leaves it; the start-up sweep removes it.
  const hold = { layer: layer.id, kind: 'sandbox' as const, holder: `${FORK_IN_FLIGHT}${randomBytes(6).toString('hex')}` };
  layerRepoOf(store).addRef(hold);
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => hooks.create({
    image: layer.imageDigest, fromLayer: layer.id, ...(opts.names === undefined ? {} : { name: opts.names[i] }),
  }))).finally(() => layerRepoOf(store).removeRef(hold));
  const made = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.allSettled(made.map((rec) => hooks.remove(rec.id)));
    throw asShedError(failed.reason, `fork snapshot ${layer.id}`);
  }
  for (const rec of made) hooks.forked(rec, layer.id);
  return made;
}
