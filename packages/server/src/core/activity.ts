import type { SandboxId } from './ids.js';
import type { SandboxRecord, SandboxRepo } from './sandboxes.js';

/** How often one sandbox's activity is written through to the store, at most. */
const FLUSH_EVERY_MS = 1000;

/**
 * When each sandbox last saw API activity (exec, spawn, files, process output), for the idle
 * timeout. Kept in memory for every call and written to the store at most once a second per
 * sandbox: an exec must not pay for a database write each time, and the stored value is what
 * a restarted shedd computes idle deadlines from (it may be up to a second early then).
 */
export class ActivityTracker {
  readonly #repo: Pick<SandboxRepo, 'touch'>;
  readonly #seen = new Map<SandboxId, number>();
  readonly #flushed = new Map<SandboxId, number>();

  constructor(repo: Pick<SandboxRepo, 'touch'>) {
    this.#repo = repo;
  }

  touch(id: SandboxId, nowMs = Date.now()): void {
    this.#seen.set(id, nowMs);
    if (nowMs - (this.#flushed.get(id) ?? 0) < FLUSH_EVERY_MS) return;
    this.#flushed.set(id, nowMs);
    this.#repo.touch(id, nowMs);
  }

  /** The latest of what the store says (activity or last start) and what this process saw. */
  lastActiveAt(rec: SandboxRecord): number {
    return Math.max(this.#seen.get(rec.id) ?? 0, rec.lastActiveAt ?? rec.createdAt);
  }

  /** Forgets sandboxes that are gone, so the maps hold only existing ones. */
  retain(ids: ReadonlySet<SandboxId>): void {
    for (const id of this.#seen.keys()) {
      if (ids.has(id)) continue;
      this.#seen.delete(id);
      this.#flushed.delete(id);
    }
  }
}
