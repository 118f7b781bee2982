// Polling for tests: for what has no event to wait on (a reaper's pass, a replenisher's refill).
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/** Calls `fn` every 50 ms until it returns a value (not undefined) and returns it; fails naming `what` after `timeoutMs` (a loaded host may take a while). */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
