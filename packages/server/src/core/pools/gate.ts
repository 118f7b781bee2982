/**
 * Counts user creates in flight so the replenisher can wait for them: a member create
 * competes with a user's cold create for the same two cores and the same runtime, and the
 * user comes first. Claims are not counted (one agent round trip, nothing to compete for).
 */
export class CreateGate {
  #inFlight = 0;
  #waiters: (() => void)[] = [];

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Marks a user create as started; call the returned function once it ends. */
  enter(): () => void {
    this.#inFlight++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#inFlight--;
      if (this.#inFlight === 0) for (const w of this.#waiters.splice(0)) w();
    };
  }

  /** Resolves when no user create is in flight. */
  idle(): Promise<void> {
    return this.#inFlight === 0 ? Promise.resolve() : new Promise((done) => this.#waiters.push(done));
  }
}
