/**
 * Undo steps of a half-done operation, run last-in first-out. Every step runs even when an
 * earlier one fails: a failure half way must leave nothing behind that a later step could
 * still remove. Failures are collected and returned, not thrown over the original error.
 */
export class CleanupStack {
  readonly #steps: { what: string; undo: () => Promise<void> | void }[] = [];

  push(what: string, undo: () => Promise<void> | void): void {
    this.#steps.push({ what, undo });
  }

  async unwind(): Promise<string[]> {
    const problems: string[] = [];
    while (this.#steps.length > 0) {
      const step = this.#steps.pop();
      if (step === undefined) break;
      try {
        await step.undo();
      } catch (err) {
        problems.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return problems;
  }
}
