// A LIFO stack of undo steps: every step of a multi-step operation (create) pushes how to
// undo itself, so a failure or an abort half way unwinds exactly what was done, newest first.
import { ShedError } from '../core/errors.js';

interface UndoStep {
  readonly what: string;
  readonly undo: () => Promise<void> | void;
}

export class CleanupStack {
  #steps: UndoStep[] = [];

  /** Registers how to undo the step just completed. `what` names it in error reports. */
  push(what: string, undo: () => Promise<void> | void): void {
    this.#steps.push({ what, undo });
  }

  get size(): number {
    return this.#steps.length;
  }

  /** The operation succeeded: its steps stay done. */
  release(): void {
    this.#steps = [];
  }

  /**
   * Undoes every step, newest first. A failing undo does not stop the others (each one frees
   * something different); the failures are returned so the caller can report them.
   */
  async unwind(): Promise<ShedError[]> {
    const failures: ShedError[] = [];
    for (let step = this.#steps.pop(); step !== undefined; step = this.#steps.pop()) {
      try {
        await step.undo();
      } catch (err) {
        failures.push(new ShedError('internal', `undoing '${step.what}' failed: ${errMessage(err)}`, { cause: err }));
      }
    }
    return failures;
  }
}

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
