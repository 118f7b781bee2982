// Fork: N sandboxes on one snapshot's files, made with the ordinary create (cold path), all
// or none — a fork that fails part way deletes the sandboxes it had made.
import { ShedError, asShedError } from './errors.js';
import { faultPoint } from './faults.js';
import { isSandboxId, newSandboxId, type SandboxId } from './ids.js';
import type { NetworkMode } from './driver.js';
import type { LayerId } from './layers.js';
import type { EgressPolicy } from './network.js';
import type { CreateSandboxCommand } from './sandbox-spec.js';
import type { Persistence, SandboxRecord } from './sandboxes.js';
import { FORK_IN_FLIGHT, forkSource, layerRepoOf } from './snapshots.js';

export const MAX_FORKS = 32;

export interface ForkOptions {
  /** How many sandboxes. @default 1 */
  count?: number;
  /** Their names, one per sandbox when given. @default none */
  names?: readonly string[];
  /** Each fork's network ('nat': each its own address, through the same create path). @default 'none' */
  network?: NetworkMode;
  /** With network 'nat'. @default open (core/network.ts) */
  egress?: Partial<EgressPolicy>;
  signal?: AbortSignal;
}

/** What fork needs from the sandbox service. */
export interface ForkHooks {
  /** A create with its id chosen ahead. */
  create(cmd: CreateSandboxCommand, id: SandboxId): Promise<SandboxRecord>;
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
  // each create's own ref is written. It names the forks' ids, chosen ahead: a crash leaves it,
  // and the next start deletes the forks it names that were made (cutShortForks), then the
  // sweep drops it — all or none, across a crash too.
  const ids = Array.from({ length: count }, () => newSandboxId());
  const hold = { layer: layer.id, kind: 'sandbox' as const, holder: `${FORK_IN_FLIGHT}${ids.join(',')}` };
  layerRepoOf(store).addRef(hold);
  const results = await Promise.allSettled(ids.map(async (id, i) => {
    const rec = await hooks.create({
      image: layer.imageDigest, fromLayer: layer.id, ...(opts.names === undefined ? {} : { name: opts.names[i] }),
      ...(opts.network === undefined ? {} : { network: opts.network }), ...(opts.egress === undefined ? {} : { egress: opts.egress }),
    }, id);
    faultPoint('fork.after-one');
    return rec;
  })).finally(() => layerRepoOf(store).removeRef(hold));
  const made = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.allSettled(made.map((rec) => hooks.remove(rec.id)));
    throw asShedError(failed.reason, `fork snapshot ${layer.id}`);
  }
  for (const rec of made) hooks.forked(rec, layer.id);
  return made;
}

/**
 * At start, before the sweep drops them: the sandboxes named by the holds of forks a crash cut
 * short that were made (their rows exist). The caller deletes them.
 */
export function cutShortForks(store: Persistence): SandboxId[] {
  const out: SandboxId[] = [];
  for (const l of store.layers?.heldBy('sandbox') ?? []) {
    for (const r of layerRepoOf(store).refsOf(l.id)) {
      if (r.kind !== 'sandbox' || !r.holder.startsWith(FORK_IN_FLIGHT)) continue;
      const ids = r.holder.slice(FORK_IN_FLIGHT.length).split(',').filter(isSandboxId);
      out.push(...ids.filter((id) => store.sandboxes.get(id) !== undefined));
    }
  }
  return out;
}
