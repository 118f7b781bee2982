import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { InFlight, Mutex } from './concurrency.js';

describe('InFlight', () => {
  it('runs one function per key while it is in flight, then again', async () => {
    const f = new InFlight<number>();
    let runs = 0;
    const job = async () => (await sleep(5), ++runs);
    assert.deepEqual(await Promise.all([f.run('k', job), f.run('k', job), f.run('other', job)]), [1, 1, 2]);
    assert.equal(await f.run('k', job), 3);
  });
});

describe('Mutex', () => {
  it('runs functions one at a time in call order, surviving a failure', async () => {
    const m = new Mutex();
    const order: string[] = [];
    const a = m.run(async () => (await sleep(10), order.push('a')));
    const b = m.run(async () => {
      order.push('b');
      throw new Error('b failed');
    });
    const c = m.run(async () => order.push('c'));
    await a;
    await assert.rejects(b, /b failed/);
    await c;
    assert.deepEqual(order, ['a', 'b', 'c']);
  });
});
