/**
 * Records how long each phase of an operation takes (create, start, exec). The result is
 * stored on the sandbox, shown by `shed inspect`, logged, and exported as metrics: it is the
 * measurement every speed change is judged by.
 */
export type PhaseTimings = Record<string, number>;

export class PhaseTimer {
  private readonly t0 = performance.now();
  private readonly phases: PhaseTimings = {};

  /** Times one phase; phases that run in parallel are each timed on their own. */
  async time<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.record(phase, performance.now() - start);
    }
  }

  /** Times one synchronous phase. */
  timeSync<T>(phase: string, fn: () => T): T {
    const start = performance.now();
    try {
      return fn();
    } finally {
      this.record(phase, performance.now() - start);
    }
  }

  /** Records a duration measured elsewhere (for example, the agent's own start-up timings). */
  record(phase: string, ms: number): void {
    this.phases[phase] = round(ms);
  }

  /** All phases so far plus `total` since the timer was made, in milliseconds. */
  finish(): PhaseTimings {
    return { ...this.phases, total: round(performance.now() - this.t0) };
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
