import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EventBus } from '../core/event-bus.js';
import type { SandboxId } from '../core/ids.js';
import { parseLastEventId, pipeEvents, sseMessage } from './sse.js';

const sb = { id: 'sb-0123456789ab' as SandboxId, name: 'box' }; // a well-formed id, made by hand for the test

describe('server-sent events', () => {
  it('writes an event as id + data, and a notice as a named event without an id', () => {
    const bus = new EventBus({ now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 678) });
    const sub = bus.subscribe({ since: 0 });
    bus.publish('stopped', sb, { reason: 'stopped on request' });
    const replayed = sub.pending;
    assert.equal(replayed, 1);
    return sub.next().then((r) => {
      assert.ok(r.done === false);
      assert.equal(sseMessage(r.value),
        'id: 1\ndata: {"seq":1,"type":"stopped","time":"2026-01-02T03:04:05.678Z","sandbox":"sb-0123456789ab","name":"box","details":{"reason":"stopped on request"}}\n\n');
      assert.equal(sseMessage({ notice: 'overflow', lastSeq: 9, queueLimit: 4 }), 'event: overflow\ndata: {"lastSeq":9,"queueLimit":4}\n\n');
      sub.close();
    });
  });

  it('takes only a decimal sequence number as Last-Event-ID', () => {
    assert.equal(parseLastEventId(undefined), undefined);
    assert.equal(parseLastEventId('42'), 42);
    for (const bad of ['', '-1', '1e3', 'abc', '12345678901234567']) {
      assert.throws(() => parseLastEventId(bad), { code: 'invalid_argument' }, bad);
    }
  });

  it('ends the stream of a client that does not read with an overflow notice, its queue bounded meanwhile', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shed-sse-'));
    const bus = new EventBus({ queueEvents: 8 });
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      void pipeEvents(bus.subscribe(), res);
    });
    const socketPath = join(dir, 'sse.sock');
    await new Promise<void>((done) => server.listen(socketPath, done));
    try {
      const res = await new Promise<IncomingMessage>((done) => request({ socketPath, path: '/' }, done).end());
      res.pause(); // a client that stops reading: the socket fills, then the subscriber's queue
      const big = 'x'.repeat(4096);
      for (let i = 0; i < 2000 && bus.subscriberCount > 0; i++) {
        bus.publish('stop_failed', sb, { error: { code: 'internal', message: big } });
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(bus.subscriberCount, 0, 'the slow subscriber was dropped');
      let body = '';
      res.resume();
      for await (const chunk of res) body += String(chunk);
      const ids = [...body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
      assert.ok(ids.length > 8, 'what the socket and the queue held arrives');
      assert.deepEqual(ids, ids.map((_, i) => i + 1), 'in order, none missing');
      assert.ok(body.endsWith(`event: overflow\ndata: {"lastSeq":${ids.at(-1)},"queueLimit":8}\n\n`), body.slice(-200));
    } finally {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
