/**
 * Per-key mutual exclusion as a promise chain: each `run` waits for the previous holder of
 * the same key, then runs. Keys with nobody waiting are forgotten, so the map holds only
 * sandboxes with work in flight.
 *
 * Lock order (documented once, here): a caller holds at most one sandbox lock at a time and
 * never awaits another sandbox's lock while holding one. Operations on different sandboxes
 * never wait for each other; exec and file calls take no lock (they only need the agent,
 * which fails cleanly with `unavailable` when a stop closes it under them).
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
