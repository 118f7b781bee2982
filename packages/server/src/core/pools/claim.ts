// A claim: a free pool member becomes the user's sandbox with one agent round trip
// (CONFIGURE: its environment) and one row update. No process is spawned through the daemon
// and nothing is mounted: the member is already running, ready for commands.
//
// The sandbox's id is the member's, and so is its default hostname (the id). A claim that
// needs another hostname (a name, or one asked for) renames the member's UTS namespace from
// the host in parallel with the configure (Driver.setHostname): sethostname(2) needs
// CAP_SYS_ADMIN over that namespace, which the agent does not have (the runtime's default
// capability set; measured: EPERM). A driver that cannot rename keeps the id as hostname
// and a create asking for a hostname is made cold (PoolService.#match).
import { ShedError, asShedError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { SandboxId } from '../ids.js';
import { LiveSandbox } from '../live-sandbox.js';
import { PhaseTimer } from '../phase-timer.js';
import { buildSpec, type CreateSandboxCommand } from '../sandbox-spec.js';
import type { Persistence, SandboxRecord } from '../sandboxes.js';
import type { PoolRepo } from './pool-repo.js';

/** What a claim needs from the sandbox service (its lock, live links and name reservations). */
export interface ClaimHooks {
  runLocked<T>(id: SandboxId, fn: () => Promise<T>): Promise<T>;
  /** The member's live link; undefined when it is not running. */
  live(id: SandboxId): LiveSandbox | undefined;
  /** Replaces the live link's command defaults (the claim's env) and watches it again. */
  relink(id: SandboxId, live: LiveSandbox): void;
  /** Renames the sandbox's hostname from the host; absent when the driver cannot. */
  setHostname?: (live: LiveSandbox, hostname: string) => Promise<void>;
  /** Reserves a name for the claim (already_exists when taken); release it after. */
  claimName(name: string | null): void;
  releaseName(name: string | null): void;
}

export interface ClaimContext {
  readonly store: Persistence;
  readonly repo: PoolRepo;
  readonly events: EventSink;
  readonly hooks: ClaimHooks;
}

/** The claim went through, or the member turned out unusable (the caller retires it and goes cold). */
export type ClaimOutcome = { readonly record: SandboxRecord } | { readonly unusable: ShedError };

/**
 * Claims member `id` of `pool` for `cmd`. Errors in the request itself (a bad name, a name
 * taken) are thrown before the member is touched, so the caller can put it back.
 */
export async function claimMember(ctx: ClaimContext, pool: string, id: SandboxId, cmd: CreateSandboxCommand): Promise<ClaimOutcome> {
  const timer = new PhaseTimer();
  const rename = ctx.hooks.setHostname;
  const { name, spec } = buildSpec(id, rename === undefined ? { ...cmd, hostname: id } : cmd);
  ctx.hooks.claimName(name);
  try {
    return await ctx.hooks.runLocked(id, async () => {
      const live = ctx.hooks.live(id);
      if (live === undefined) return { unusable: new ShedError('unavailable', `pool member ${id} is not running`) };
      const op = ctx.store.operations.begin({
        kind: 'create', sandboxId: id, request: { ...cmd, pool }, ...(cmd.idempotencyKey === undefined ? {} : { idempotencyKey: cmd.idempotencyKey }),
      });
      const defaults = { env: { ...live.defaults.env, ...spec.env }, cwd: live.defaults.cwd };
      try {
        await Promise.all([
          timer.time('configure', () => live.agent.configure({ env: defaults.env })),
          spec.hostname === id || rename === undefined ? undefined : timer.time('hostname', () => rename(live, spec.hostname)),
        ]);
      } catch (err) {
        const e = asShedError(err, `configure pool member ${id}`);
        ctx.store.operations.fail(op.id, { code: e.code, message: e.message });
        // The cold create that follows writes its own operation with the same key.
        ctx.store.operations.releaseKey(op.id);
        return { unusable: e };
      }
      const timings = { create: timer.finish() };
      let record: SandboxRecord;
      try {
        record = ctx.store.transaction(() => {
          const r = ctx.repo.claimMember(id, { name, spec, claimedFrom: pool, timings, createdAt: Date.now() });
          ctx.store.operations.succeed(op.id, { sandboxId: id });
          return r;
        });
      } catch (err) {
        const e = asShedError(err, `claim pool member ${id}`);
        ctx.store.operations.fail(op.id, { code: e.code, message: e.message });
        throw e;
      }
      ctx.hooks.relink(id, new LiveSandbox(live.handles, live.agent, defaults));
      ctx.events.publish('created', record, { image: spec.image, imageDigest: record.imageDigest, timings: timings.create, claimedFrom: pool });
      return { record };
    });
  } finally {
    ctx.hooks.releaseName(name);
  }
}
