import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedMutex } from './locks.js';

describe('KeyedMutex', () => {
  it('runs holders of one key one after another, in order', async () => {
    const m = new KeyedMutex<string>();
    const log: string[] = [];
    const a = m.run('k', async () => { log.push('a1'); await sleep(5); log.push('a2'); });
    const b = m.run('k', async () => { log.push('b1'); });
    await Promise.all([a, b]);
    assert.deepEqual(log, ['a1', 'a2', 'b1']);
    assert.equal(m.size, 0);
  });

  it('lets different keys run at the same time', async () => {
    const m = new KeyedMutex<string>();
    const log: string[] = [];
    const a = m.run('a', async () => { log.push('a1'); await sleep(5); log.push('a2'); });
    const b = m.run('b', async () => { log.push('b1'); });
    await Promise.all([a, b]);
    assert.deepEqual(log, ['a1', 'b1', 'a2']);
  });

  it('releases the lock when the holder throws', async () => {
    const m = new KeyedMutex<string>();
    await assert.rejects(m.run('k', async () => { throw new RangeError('boom'); }), RangeError);
    assert.equal(await m.run('k', async () => 7), 7);
    assert.equal(m.size, 0);
  });
});
