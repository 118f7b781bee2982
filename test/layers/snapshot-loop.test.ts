// The two-pass capture of a big upper walks every entry twice (a record before the unfrozen
// copy, a catch-up while frozen). Those walks run in a worker thread (drivers/container/layers/
// walk.ts): the daemon's event loop must keep answering while a running sandbox with a big
// upper is captured. Measured as a relation, not a speed: the longest the loop goes without a
// turn during the capture is compared with how long one record walk of the same upper blocks
// the loop when run on it (recordTree, in-process) — the old capture blocked it at least that
// long, twice.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ContainerDriver, parseContainerHandles, recordTree, type RunningSandbox } from '@shed/server';
import { containerTarget } from '../conformance/container-target.js';
import { AGENT_PATH, sandboxEnv, type SandboxEnv } from '../conformance/env.js';
import { assertNoLeaks, cleanupTempDirs } from '../helpers/leaks.js';

/** Calls `fn` while a 1 ms timer runs; returns its result and the longest gap between the timer's turns. */
async function withHeartbeat<T>(fn: () => Promise<T>): Promise<{ value: T; maxGapMs: number }> {
  let last = performance.now();
  let maxGapMs = 0;
  const beat = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 1);
  try {
    const value = await fn();
    maxGapMs = Math.max(maxGapMs, performance.now() - last);
    return { value, maxGapMs };
  } finally {
    clearInterval(beat);
  }
}

describe('snapshot of a big upper and the event loop (crun)', () => {
  let env: SandboxEnv;
  let driver: ContainerDriver;
  let skip: string | undefined;
  let sb: RunningSandbox | undefined;

  before(async () => {
    const target = await containerTarget('crun');
    if (typeof target === 'string') return void (skip = target);
    env = await sandboxEnv('shed-snap-loop-');
    driver = new ContainerDriver({ runtime: 'crun', agentPath: AGENT_PATH });
  });
  after(async () => {
    if (sb !== undefined) await driver.destroy(sb.handles);
    await cleanupTempDirs();
    await assertNoLeaks();
  });

  test('the loop keeps turning while the tree walks run', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const running = await driver.create(env.spec());
    sb = running;
    // 20,000 empty files in 40 directories: the walks are all there is to it (cp of empty files is quick).
    const made = await running.agent.run(['sh', '-c', 'mkdir /repo && cd /repo && for d in $(seq 1 40); do mkdir $d; (cd $d && seq 1 500 | xargs touch); done']);
    assert.equal(made.exitCode, 0, made.stderr.toString());
    const upper = join(parseContainerHandles(running.handles).data.stateDir, 'upper');
    const t0 = performance.now();
    assert.ok(recordTree(upper) !== null);
    const recordMs = performance.now() - t0;
    assert.ok(recordMs >= 40, `one record walk of 20,000 entries blocks the loop for a while (${recordMs.toFixed(1)} ms): the comparison below means something`);
    const { value: snap, maxGapMs } = await withHeartbeat(() => driver.snapshots.snapshotUpper(running.handles, join(env.dir, 'layers', 'big'), { maxFrozenMs: 10_000 }));
    ctx.diagnostic(`record walk on the loop ${recordMs.toFixed(1)} ms; longest loop gap during the capture ${maxGapMs.toFixed(1)} ms; timings ${JSON.stringify(snap.timings)}`);
    assert.ok((snap.timings.prepass ?? 0) > 0, `the upper went through two passes: ${JSON.stringify(snap.timings)}`);
    assert.ok(maxGapMs < recordMs / 2, `the loop went ${maxGapMs.toFixed(1)} ms without a turn during the capture; one record walk on the loop takes ${recordMs.toFixed(1)} ms`);
  });
});
