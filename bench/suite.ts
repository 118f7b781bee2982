// What a benchmark suite is. Each suite lives in suites/<name>.ts and is listed in main.ts.
import type { Row } from './report.js';

export interface SuiteOptions {
  /** Scale sample counts (0.1 for a quick run). @default 1 */
  readonly scale: number;
  /** Records a remark printed under the table and kept in the JSON (a peer not installed, a budget missed and why). */
  note(text: string): void;
}

export interface Suite {
  readonly name: string;
  readonly description: string;
  /** Measures and checks; throws when a command's output is wrong. */
  run(opts: SuiteOptions): Promise<Row[]>;
}

/** Times `fn` once, in milliseconds. */
export async function timeMs(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Runs `fn` `n` times in sequence and returns each duration in ms. */
export async function sampleMs(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await timeMs(() => fn(i)));
  return out;
}

/** Throws with `what` when a benchmarked command produced the wrong result. */
export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark output check failed: ${what}`);
}
