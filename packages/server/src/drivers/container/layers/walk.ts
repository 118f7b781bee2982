// The two-pass capture's tree walks (two-pass.ts) in a worker thread (walk-worker.ts), so they
// do not block the daemon's event loop: pass 1's record stats every entry of the upper, and
// the catch-up every entry again, ~18 µs an entry here — ~200 ms for a 10,000-entry git
// repository, seconds for 100,000 entries, during which no other API call would be answered.
// The worker is started before pass 1 (~20 ms, unfrozen) and keeps the record, so the frozen
// catch-up pays one message each way (well under 1 ms) and runs the same synchronous walk at
// the same speed as on the loop.
import { Worker } from 'node:worker_threads';
import { ShedError, isErrorCode, type ErrorCode } from '../../../core/errors.js';
import type { CatchUp, TreeRecord } from './two-pass.js';

export type WalkRequest =
  | { readonly op: 'record'; readonly src: string }
  | { readonly op: 'load'; readonly record: TreeRecord }
  | { readonly op: 'forget' }
  | { readonly op: 'catchUp'; readonly src: string; readonly dest: string; readonly deadlineEpochMs: number };

export type WalkReply =
  | { readonly ok: true; readonly value: boolean | CatchUp }
  | { readonly ok: false; readonly message: string; readonly code?: ErrorCode; readonly errno?: string };

const WORKER_URL = new URL('./walk-worker.js', import.meta.url);

/**
 * Workers kept between captures. A fresh worker's walk code starts cold (interpreted, then
 * compiled as it runs): the catch-up of 10,000 entries measured ~150 ms in a new worker
 * against ~105 ms warm, and that span is frozen. Reusing a worker keeps it warm, as the
 * daemon's own thread was when the walks ran there. Each capture has a worker to itself, so
 * one sandbox's catch-up never waits behind another's record walk.
 */
const idle: Worker[] = [];
const MAX_IDLE = 2;

/** One worker thread holding one tree's record; close() it when the capture is done. */
export class TreeWalk {
  readonly #worker: Worker;
  #busy = false;
  #broken = false;

  private constructor(worker?: Worker) {
    this.#worker = worker ?? new Worker(WORKER_URL);
    // Not to keep shedd (or a test) alive on its own: every use awaits an answer, which refs it.
    this.#worker.unref();
  }

  static start(): TreeWalk {
    const w = idle.pop();
    w?.removeAllListeners('exit');
    return new TreeWalk(w);
  }

  /** A worker holding `record` (taken in-process by recordTree). */
  static async load(record: TreeRecord, signal?: AbortSignal): Promise<TreeWalk> {
    const walk = new TreeWalk();
    try {
      await walk.#call({ op: 'load', record }, signal);
      return walk;
    } catch (err) {
      await walk.close();
      throw err;
    }
  }

  /** Records `src` (recordTree, unfrozen); false when a name is not UTF-8 (the caller copies in one pass). */
  async record(src: string, signal?: AbortSignal): Promise<boolean> {
    return (await this.#call({ op: 'record', src }, signal)) === true;
  }

  /** catchUp of two-pass.ts against the record; `deadline` is this thread's performance.now(). */
  async catchUp(src: string, dest: string, opts: { deadline: number; signal?: AbortSignal }): Promise<CatchUp> {
    const r = await this.#call({ op: 'catchUp', src, dest, deadlineEpochMs: performance.timeOrigin + opts.deadline }, opts.signal);
    // The worker answers a catchUp request with catchUp's own result (walk-worker.ts).
    return r as CatchUp;
  }

  /** Drops the record and keeps the worker for the next capture (or stops it: too many idle, or failed). */
  async close(): Promise<void> {
    if (!this.#broken && !this.#busy && idle.length < MAX_IDLE) {
      try {
        await this.#call({ op: 'forget' });
        const w = this.#worker;
        idle.push(w);
        // One that dies idle (it should not) is not handed out again.
        w.once('exit', () => {
          const i = idle.indexOf(w);
          if (i >= 0) idle.splice(i, 1);
        });
        return;
      } catch {
        // stopped below
      }
    }
    await this.#worker.terminate();
  }

  /**
   * Sends one request and waits for its answer. On abort the worker is stopped first (its
   * current system call finishes; nothing after it runs), so nothing writes to the copy once
   * the caller goes on to remove it.
   */
  #call(req: WalkRequest, signal?: AbortSignal): Promise<boolean | CatchUp> {
    if (this.#busy) throw new ShedError('internal', 'a tree walk was sent a second request before the first was answered');
    signal?.throwIfAborted();
    this.#busy = true;
    const w = this.#worker;
    w.ref();
    return new Promise<boolean | CatchUp>((resolve, reject) => {
      const done = (): void => {
        this.#busy = false;
        w.unref();
        w.off('message', onMessage).off('error', onError).off('exit', onExit);
        signal?.removeEventListener('abort', onAbort);
      };
      const onMessage = (m: WalkReply): void => {
        done();
        if (m.ok) resolve(m.value);
        else reject(replyError(m));
      };
      const onError = (err: Error): void => {
        done();
        this.#broken = true;
        reject(new ShedError('internal', `the tree walk's worker failed: ${err.message}`, { cause: err }));
      };
      const onExit = (code: number): void => {
        done();
        this.#broken = true;
        reject(new ShedError('internal', `the tree walk's worker exited (${code}) before answering`));
      };
      const onAbort = (): void => {
        done();
        this.#broken = true;
        void w.terminate().then(() => reject(signal?.reason));
      };
      w.on('message', onMessage).on('error', onError).on('exit', onExit);
      signal?.addEventListener('abort', onAbort, { once: true });
      w.postMessage(req);
    });
  }
}

/** A walk's failure as the in-process walk would have thrown it: ShedErrors keep their code. */
function replyError(m: Extract<WalkReply, { ok: false }>): ShedError {
  if (m.code !== undefined && isErrorCode(m.code)) return new ShedError(m.code, m.message);
  return new ShedError('internal', `walking the writable layer failed: ${m.message}`, m.errno ? { details: { errno: m.errno } } : {});
}
