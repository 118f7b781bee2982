// The replenisher: one background loop that keeps every pool at its target, one step at a
// time (one member create or one retire in flight across all pools), and only while no user
// create is in flight — a user's cold create never waits behind more than the one member
// create already running. What to do is planNext's decision; this file only sequences it.
import { errorMessage } from '../errors.js';
import type { SandboxId } from '../ids.js';
import { planNext, type PoolView } from './planner.js';

/** What the loop drives: the pool service in shedd, a fake in unit tests. */
export interface ReplenisherSeam {
  views(): PoolView[];
  /** Makes one member of the pool; records its own failure (back-off, last error) and rejects. */
  createMember(pool: string): Promise<void>;
  retireMember(pool: string, id: SandboxId): Promise<void>;
  /** Resolves when no user create is in flight. */
  userCreatesIdle(): Promise<void>;
  now(): number;
  log(msg: string, obj: object): void;
}

export interface ReplenisherOptions {
  /** Looks again this often even when nothing woke it (a member died, a back-off ended). @default 1000 */
  tickMs?: number;
}

export class Replenisher {
  readonly #seam: ReplenisherSeam;
  readonly #tickMs: number;
  #closed = false;
  #wake: (() => void) | undefined;
  #woken = false;
  #loop: Promise<void> | undefined;

  constructor(seam: ReplenisherSeam, opts: ReplenisherOptions = {}) {
    this.#seam = seam;
    this.#tickMs = opts.tickMs ?? 1000;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Something changed (a claim, a pool set or removed, a create ended): plan again now. */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** Stops after the step in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    this.wake();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      await this.#seam.userCreatesIdle();
      if (this.#closed) return;
      this.#woken = false;
      const step = planNext(this.#seam.views(), this.#seam.now());
      try {
        if (step.kind === 'create') await this.#seam.createMember(step.pool);
        else if (step.kind === 'retire') await this.#seam.retireMember(step.pool, step.id);
        else await this.#sleep(step.wakeAt === undefined ? this.#tickMs : Math.min(this.#tickMs, Math.max(0, step.wakeAt - this.#seam.now())));
      } catch (err) {
        // The seam recorded it on the pool (back-off, last error); the loop goes on.
        this.#seam.log('a pool step failed', { step, err: errorMessage(err) });
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken || this.#closed) return Promise.resolve();
    return new Promise((done) => {
      const t = setTimeout(finish, ms);
      function finish(): void {
        clearTimeout(t);
        done();
      }
      this.#wake = () => {
        this.#wake = undefined;
        finish();
      };
    });
  }
}
