// The SDK's event stream against an in-process shedd: a reader that falls behind is resumed
// from the replay ring without losing an event, and a replay that cannot be honoured is an
// error, not a silent gap. Events are published straight onto the daemon's bus.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Shed, ShedApiError } from '@shed/sdk';
import type { SandboxId } from '@shed/server';
import { agentUnavailable } from '../helpers/agent.js';
import { startHarness, type Harness } from './harness.js';

const skip = await agentUnavailable();
if (skip !== undefined) console.log(`# event stream API tests skipped: ${skip}`);

const subject = { id: 'sb-0000000000e1' as SandboxId, name: 'events' }; // a well-formed id, made by hand: no sandbox is needed

describe('API: the event stream through the SDK', { skip }, () => {
  let h: Harness;
  let shed: Shed;

  before(async () => {
    h = await startHarness();
    shed = await Shed.connect({ socketPath: h.socketPath });
  });

  after(async () => {
    shed.close();
    await h.close();
  });

  it('resumes a reader that fell behind (overflow) from the replay ring: every event, in order, once', async () => {
    const bus = h.running.sandboxes.events;
    const stream = await shed.events({ sandbox: subject.id, signal: AbortSignal.timeout(60_000) });
    const first = bus.latestSeq + 1;
    // Not read meanwhile: the socket fills, then the subscriber's queue (1024), and shedd drops it.
    const count = 3000;
    const message = 'x'.repeat(2000);
    for (let i = 0; i < count; i++) {
      bus.publish('stop_failed', subject, { error: { code: 'internal', message } });
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    for (const deadline = Date.now() + 10_000; bus.subscriberCount > 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
    assert.equal(bus.subscriberCount, 0, 'the slow reader was dropped by shedd');
    const seqs: number[] = [];
    for await (const e of stream) if (seqs.push(e.seq) === count) break;
    assert.deepEqual(seqs, Array.from({ length: count }, (_, i) => first + i));
  });

  it('rejects a replay from a sequence number this shedd never reached (an earlier shedd) with resource_exhausted', async () => {
    const stream = await shed.events({ since: 10_000_000 });
    await assert.rejects(async () => {
      for await (const _ of stream) break;
    }, (e: unknown) => e instanceof ShedApiError && e.code === 'resource_exhausted' && e.details['reason'] === 'restarted');
  });

  it('ends quietly when the signal aborts, and rejects an unknown event type with invalid_argument', async () => {
    const ac = new AbortController();
    const stream = await shed.events({ signal: ac.signal });
    let sawFirst = (): void => undefined;
    const first = new Promise<void>((resolve) => (sawFirst = resolve));
    const reading = (async () => {
      let n = 0;
      for await (const _ of stream) {
        n++;
        sawFirst();
      }
      return n;
    })();
    h.running.sandboxes.events.publish('deleted', subject, {});
    // The abort comes while the reader waits for a second event, however long the first took.
    await first;
    ac.abort();
    assert.equal(await reading, 1);
    // A name the SDK's types rule out, as an untyped caller could send it.
    await assert.rejects(shed.events({ types: ['exploded' as 'deleted'] }), (e: unknown) => e instanceof ShedApiError && e.code === 'invalid_argument');
  });
});
