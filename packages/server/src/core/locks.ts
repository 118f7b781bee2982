/**
 * Per-key mutual exclusion as a promise chain: each `run` waits for the previous holder of
 * the same key, then runs. Keys with nobody waiting are forgotten, so the map holds only
 * sandboxes with work in flight.
 *
 * LOCK ORDER (the one place it is written down in code; docs/ARCHITECTURE.md repeats it):
 *
 *   name claim  →  sandbox lock  →  store transaction
 *
 *  1. Name claim (SandboxService.#claimedNames): taken synchronously before a create queues
 *     for its sandbox lock, released after; a second create of the name fails at once.
 *  2. Sandbox lock (this class, keyed by id): create, start, stop, delete and the liveness
 *     check of one sandbox. A caller holds at most one and never awaits another sandbox's
 *     lock while holding it, so operations on different sandboxes never wait for each other.
 *     Driver calls happen here, under this sandbox's lock only.
 *  3. Store transaction: synchronous (better-sqlite3), so it can never span an await, a
 *     driver call or another lock.
 *
 * There is no global lock, and none is held across driver calls. Work that spans sandboxes
 * takes none of its own: the scheduler (core/scheduler.ts) goes through the service's
 * per-sandbox calls, and the orphan sweep asks "is this id known?" live at each removal
 * (rows, plus creates in flight registered before any of their files exist), which is safe
 * without a lock because ids are random and never reused. Exec and file calls take no lock
 * (they only need the agent, which fails cleanly with `unavailable` when a stop closes it).
 */
export class KeyedMutex<K> {
  readonly #tails = new Map<K, Promise<void>>();

  async run<T>(key: K, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      // Only the last waiter clears the entry; a newer one has replaced the tail.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Keys with a holder or waiters (for tests and diagnostics). */
  get size(): number {
    return this.#tails.size;
  }
}
