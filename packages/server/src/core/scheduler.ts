// The daemon's clockwork: three jobs on their own timers, each run to completion before its
// next turn is scheduled (never overlapping itself), none holding a lock of its own.
//
//  - expiry (every `expiryCheckMs`): TTL and idle deadlines from stored timestamps
//    (core/expiry.ts); a due sandbox is stopped or deleted through the service, so the usual
//    sandbox lock and state machine apply;
//  - liveness (every `livenessCheckMs`): every sandbox that should be running is checked
//    (core/liveness.ts); a gone one is released and marked stopped with why;
//  - orphan sweep (every `sweepIntervalMs`): what no sandbox owns is removed.
import { asShedError } from './errors.js';
import { dueExpiry, type DueExpiry } from './expiry.js';
import type { SandboxId } from './ids.js';
import { shouldBeRunning } from './liveness.js';
import type { SandboxService, ServiceLog } from './sandbox-service.js';
import type { SandboxRecord } from './sandboxes.js';

export interface SchedulerOptions {
  /** How often expiry deadlines are looked at; an expiry fires at most this late. @default 1000 */
  expiryCheckMs?: number;
  /** How often every running sandbox's liveness is checked (a dropped agent link is checked at once). @default 5000 */
  livenessCheckMs?: number;
  /** How often orphans are swept; 0 turns the scheduled sweep off. @default 600000 (10 min) */
  sweepIntervalMs?: number;
}

/** The part of SandboxService the scheduler drives (a seam for unit tests). */
export type ScheduledService = Pick<
  SandboxService, 'list' | 'get' | 'stop' | 'delete' | 'checkSandbox' | 'prune' | 'workloadProcesses' | 'lastActiveAt' | 'touch'
>;

export class LifecycleScheduler {
  readonly #svc: ScheduledService;
  readonly #log: ServiceLog;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #running = new Set<Promise<void>>();
  /** Sandboxes whose expiry action is under way: fired once, not again each tick. */
  readonly #expiring = new Set<SandboxId>();
  #closed = false;

  constructor(svc: ScheduledService, log: ServiceLog, opts: SchedulerOptions = {}) {
    this.#svc = svc;
    this.#log = log;
    this.#every('expiry', opts.expiryCheckMs ?? 1000, () => this.expireDue());
    this.#every('liveness', opts.livenessCheckMs ?? 5000, () => this.checkLiveness());
    const sweepMs = opts.sweepIntervalMs ?? 600_000;
    if (sweepMs > 0) this.#every('orphan sweep', sweepMs, async () => void (await this.#svc.prune()));
  }

  /** Starts the expiry action of every sandbox that is due; resolves once they are all done. */
  async expireDue(nowMs = Date.now()): Promise<void> {
    const due: [SandboxRecord, DueExpiry][] = [];
    for (const rec of this.#svc.list()) {
      const d = this.#expiring.has(rec.id) ? null : dueExpiry(rec, this.#svc.lastActiveAt(rec), nowMs);
      if (d !== null) due.push([rec, d]);
    }
    await Promise.all(due.map(([rec, d]) => this.#expire(rec, d)));
  }

  /** Checks every sandbox that should be running; gone ones end up stopped with why. */
  async checkLiveness(): Promise<void> {
    // Free warm pool members too: a dead one must leave its pool.
    const ids = this.#svc.list([], { all: true }).filter(shouldBeRunning).map((r) => r.id);
    await Promise.all(ids.map((id) => this.#svc.checkSandbox(id, 'found by the periodic liveness check')));
  }

  /** Stops the timers and waits for a job under way. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all(this.#running);
  }

  async #expire(rec: SandboxRecord, d: DueExpiry): Promise<void> {
    this.#expiring.add(rec.id);
    try {
      // The idle timeout counts running processes as activity: a long build is not idle.
      if (d.kind === 'idle' && (await this.#svc.workloadProcesses(rec.id)) > 0) return this.#svc.touch(rec.id);
      this.#log.info({ sandbox: rec.id, expiry: d.kind, action: d.action, deadline: new Date(d.atMs).toISOString() }, d.reason);
      if (d.action === 'delete') await this.#svc.delete(rec.id, { reason: d.reason });
      else await this.#svc.stop(rec.id, { reason: d.reason });
    } catch (err) {
      // A sandbox deleted or stopped meanwhile is not an error of the expiry; anything else is logged and retried next tick.
      const e = asShedError(err, `expire sandbox ${rec.id}`);
      if (e.code !== 'not_found' && e.code !== 'failed_precondition') this.#log.error({ sandbox: rec.id, err: e.message }, 'expiring a sandbox failed');
    } finally {
      this.#expiring.delete(rec.id);
    }
  }

  #every(name: string, everyMs: number, job: () => Promise<void>): void {
    const arm = (): void => {
      if (this.#closed) return;
      const t = setTimeout(() => {
        this.#timers.delete(t);
        const run = job()
          .catch((err: unknown) => this.#log.error({ job: name, err: asShedError(err, name).message }, `the scheduled ${name} failed`))
          .finally(() => {
            this.#running.delete(run);
            arm();
          });
        this.#running.add(run);
      }, everyMs);
      this.#timers.add(t);
    };
    arm();
  }
}
