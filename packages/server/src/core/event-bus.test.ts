import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventBus, type Subscription } from './event-bus.js';
import type { AnyEvent, BusNotice } from './events.js';
import type { SandboxId } from './ids.js';

const a = { id: 'sb-00000000000a' as SandboxId, name: 'a' }; // a well-formed id, made by hand for the test
const b = { id: 'sb-00000000000b' as SandboxId, name: null }; // as above

/** Reads `n` items, failing instead of hanging when fewer come. */
async function take(sub: Subscription, n: number): Promise<(AnyEvent | BusNotice)[]> {
  const out: (AnyEvent | BusNotice)[] = [];
  while (out.length < n) {
    const r = await Promise.race([sub.next(), new Promise<'timeout'>((t) => setTimeout(() => t('timeout'), 1000))]);
    if (r === 'timeout') throw new Error(`only ${out.length} of ${n} items arrived`);
    if (r.done === true) break;
    out.push(r.value);
  }
  return out;
}

const seqs = (items: (AnyEvent | BusNotice)[]): (number | string)[] => items.map((i) => ('notice' in i ? i.notice : i.seq));

describe('EventBus', () => {
  it('numbers events from 1 in publish order, with time, subject and details', async () => {
    const bus = new EventBus({ now: () => 1234 });
    const sub = bus.subscribe();
    bus.publish('created', a, { image: 'default', imageDigest: 'sha256:x', timings: { total: 5 } });
    bus.publish('stopped', a, { reason: 'stopped on request' });
    bus.publish('deleted', b, {});
    const got = await take(sub, 3);
    assert.deepEqual(seqs(got), [1, 2, 3]);
    assert.deepEqual(got[0], {
      seq: 1, type: 'created', time: 1234, sandbox: a.id, name: 'a', details: { image: 'default', imageDigest: 'sha256:x', timings: { total: 5 } },
    });
    assert.equal(bus.latestSeq, 3);
    sub.close();
  });

  it('delivers every event to every subscriber, and a subscriber sees only events after it subscribed', async () => {
    const bus = new EventBus();
    bus.publish('deleted', a, {});
    const s1 = bus.subscribe();
    const s2 = bus.subscribe();
    for (let i = 0; i < 50; i++) bus.publish('adopted', i % 2 === 0 ? a : b, {});
    assert.deepEqual(seqs(await take(s1, 50)), Array.from({ length: 50 }, (_, i) => i + 2));
    assert.deepEqual(seqs(await take(s2, 50)), Array.from({ length: 50 }, (_, i) => i + 2));
    s1.close();
    s2.close();
    assert.equal(bus.subscriberCount, 0);
  });

  it('filters live and replayed events', async () => {
    const bus = new EventBus();
    bus.publish('adopted', a, {});
    bus.publish('adopted', b, {});
    const sub = bus.subscribe({ since: 0, filter: (e) => e.sandbox === b.id });
    bus.publish('deleted', a, {});
    bus.publish('deleted', b, {});
    assert.deepEqual(seqs(await take(sub, 2)), [2, 4]);
    sub.close();
  });

  it('replays kept events after `since`, then continues live without a gap or a repeat', async () => {
    const bus = new EventBus({ replayEvents: 8 });
    for (let i = 0; i < 5; i++) bus.publish('adopted', a, {});
    const sub = bus.subscribe({ since: 3 });
    bus.publish('deleted', a, {});
    assert.deepEqual(seqs(await take(sub, 3)), [4, 5, 6]);
    sub.close();
  });

  it('says so with a gap notice when the events after `since` are no longer kept, or `since` is from an earlier run', async () => {
    const bus = new EventBus({ replayEvents: 4 });
    for (let i = 0; i < 10; i++) bus.publish('adopted', a, {});
    assert.equal(bus.oldestSeq, 7);
    const expired = bus.subscribe({ since: 2 });
    const got = await take(expired, 5);
    assert.deepEqual(got[0], { notice: 'gap', since: 2, oldestSeq: 7, reason: 'expired' });
    assert.deepEqual(seqs(got.slice(1)), [7, 8, 9, 10]);
    const restarted = bus.subscribe({ since: 500 });
    assert.deepEqual((await take(restarted, 1))[0], { notice: 'gap', since: 500, oldestSeq: 7, reason: 'restarted' });
    const exact = bus.subscribe({ since: 6 });
    assert.deepEqual(seqs(await take(exact, 4)), [7, 8, 9, 10], 'resuming right at the oldest kept event is not a gap');
    const all = bus.subscribe({ since: 0 });
    assert.deepEqual(seqs(await take(all, 4)), [7, 8, 9, 10], 'since 0 asks for all that is kept: not a gap');
    for (const s of [expired, restarted, exact, all]) s.close();
  });

  it('drops a subscriber that falls queueEvents behind: what it had queued, then overflow, then the end', async () => {
    const bus = new EventBus({ queueEvents: 3 });
    const slow = bus.subscribe();
    const fast = bus.subscribe();
    for (let i = 0; i < 10; i++) bus.publish('adopted', a, {});
    assert.equal(slow.pending, 3, 'the queue stays bounded');
    assert.equal(bus.subscriberCount, 0, 'both fell behind (neither read) and were dropped');
    const got = await take(slow, 10);
    assert.deepEqual(seqs(got), [1, 2, 3, 'overflow']);
    assert.deepEqual(got[3], { notice: 'overflow', lastSeq: 3, queueLimit: 3 });
    assert.equal((await slow.next()).done, true);
    fast.close();
  });

  it('keeps a reader that keeps up, however many events pass', async () => {
    const bus = new EventBus({ queueEvents: 2 });
    const sub = bus.subscribe();
    for (let i = 1; i <= 100; i++) {
      bus.publish('adopted', a, {});
      const [e] = await take(sub, 1);
      assert.equal(e !== undefined && 'seq' in e ? e.seq : -1, i);
    }
    assert.equal(bus.subscriberCount, 1);
    sub.close();
  });

  it('wakes a waiting reader, and ends it on close', async () => {
    const bus = new EventBus();
    const sub = bus.subscribe();
    const waiting = sub.next();
    bus.publish('deleted', a, {});
    assert.equal((await waiting).done, false);
    const ended = sub.next();
    sub.close();
    assert.equal((await ended).done, true);
    bus.publish('deleted', a, {});
    assert.equal(sub.pending, 0, 'a closed subscription queues nothing');
  });

  it('calls listeners synchronously, and a throwing listener does not fail the publisher', () => {
    const bus = new EventBus();
    const seen: number[] = [];
    bus.listen(() => {
      throw new Error('listener bug');
    });
    const stop = bus.listen((e) => seen.push(e.seq));
    bus.publish('deleted', a, {});
    assert.deepEqual(seen, [1]);
    stop();
    bus.publish('deleted', a, {});
    assert.deepEqual(seen, [1]);
  });
});
