import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageOf } from '../codec.js';
import { closePair, openPair, type Pair } from './fake-agent.test-support.js';

let pair: Pair;
beforeEach(async () => {
  pair = await openPair();
});
afterEach(() => closePair(pair));

/** Starts an exec and answers STARTED; returns the handle and the EXEC request. */
async function started(argv = ['x'], opts: { windowBytes?: number; stdin?: boolean } = {}) {
  const h = pair.client.exec({ argv, ...opts });
  const req = await pair.agent.expect('EXEC');
  pair.agent.send({ type: 'STARTED', stream: req.stream, fields: { procId: 7, pid: 70, offset: 0n } });
  await h.started;
  return { h, req };
}

function out(stream: number, offset: number, data: string | Buffer, type: 'OUT_STDOUT' | 'OUT_STDERR' = 'OUT_STDOUT'): MessageOf<'OUT_STDOUT' | 'OUT_STDERR'> {
  return { type, stream, offset: BigInt(offset), data: Buffer.from(data) };
}

describe('exec', () => {
  it('sends the request fields and collects output with run()', async () => {
    const p = pair.client.run(['sh', '-c', 'x'], { env: { A: '1' }, cwd: '/tmp', uid: 5, timeoutMs: 9, input: 'in' });
    const req = await pair.agent.expect('EXEC');
    assert.deepEqual(req.fields, { argv: ['sh', '-c', 'x'], env: ['A=1'], cwd: '/tmp', uid: 5, timeoutMs: 9, stdin: 1 });
    pair.agent.send({ type: 'STARTED', stream: req.stream, fields: { procId: 1, pid: 2, offset: 0n } });
    const stdin = await pair.agent.expect('STDIN');
    assert.equal(Buffer.from(stdin.data).toString(), 'in');
    await pair.agent.expect('STDIN_EOF');
    pair.agent.send(out(req.stream, 0, 'hello '));
    pair.agent.send(out(req.stream, 6, 'oops', 'OUT_STDERR'));
    pair.agent.send(out(req.stream, 10, 'world'));
    pair.agent.send({ type: 'EXIT', stream: req.stream, fields: { offset: 15n, exitCode: 3 } });
    const r = await p;
    assert.equal(r.stdout.toString(), 'hello world');
    assert.equal(r.stderr.toString(), 'oops');
    assert.equal(r.exitCode, 3);
    assert.equal(r.signal, null);
  });

  it('reports a signal death and a timeout', async () => {
    const { h, req } = await started();
    pair.agent.send({ type: 'EXIT', stream: req.stream, fields: { offset: 0n, termSignal: 9, timedOut: 1 } });
    assert.deepEqual(await h.wait(), { exitCode: null, signal: 'SIGKILL', timedOut: true, outputBytes: 0 });
  });

  it('a start failure rejects started and wait with the errno', async () => {
    const h = pair.client.exec({ argv: ['/nope'] });
    const req = await pair.agent.expect('EXEC');
    pair.agent.send({ type: 'ERROR', stream: req.stream, fields: { errno: 'ENOENT' } });
    await assert.rejects(h.started, { code: 'not_found', errno: 'ENOENT' });
    await assert.rejects(h.wait(), { code: 'not_found' });
  });

  it('acknowledges output only as the consumer pulls it', async () => {
    const window = 65_536;
    const { h, req } = await started(['x'], { windowBytes: window });
    assert.equal(req.fields.window, window);
    const chunk = Buffer.alloc(4096, 1);
    for (let i = 0; i < 16; i++) pair.agent.send(out(req.stream, i * 4096, chunk));
    await sleep(50);
    assert.equal(pair.agent.pending().length, 0, 'no CREDIT before the consumer reads');
    const it = h[Symbol.asyncIterator]();
    for (let i = 0; i < 7; i++) await it.next();
    await sleep(20);
    assert.equal(pair.agent.pending().length, 0, 'under half a window read: still no CREDIT');
    await it.next();
    const c1 = await pair.agent.expect('CREDIT');
    assert.equal(c1.fields.offset, 32_768n);
    for (let i = 0; i < 8; i++) await it.next();
    assert.equal((await pair.agent.expect('CREDIT')).fields.offset, 65_536n);
    pair.agent.send({ type: 'EXIT', stream: req.stream, fields: { offset: 65_536n, exitCode: 0 } });
    assert.equal((await it.next()).done, true);
  });

  it('stdout/stderr Readables get their bytes, with credit as they drain', async () => {
    const { h, req } = await started(['x'], { windowBytes: 65_536 });
    pair.agent.send(out(req.stream, 0, Buffer.alloc(40_000, 0x61)));
    pair.agent.send(out(req.stream, 40_000, 'err', 'OUT_STDERR'));
    await sleep(30);
    assert.equal(pair.agent.pending().length, 0, 'nothing read yet: no CREDIT');
    let o = 0;
    let e = '';
    h.stdout.on('data', (c: Buffer) => (o += c.length));
    h.stderr.on('data', (c: Buffer) => (e += c.toString()));
    const credit = (await pair.agent.expect('CREDIT')).fields.offset;
    assert.ok(credit >= 32_768n && credit <= 40_003n, `credit ${credit}`);
    await sleep(10);
    assert.equal(o, 40_000);
    assert.equal(e, 'err');
    const ended = Promise.all([new Promise((r) => h.stdout.on('end', r)), new Promise((r) => h.stderr.on('end', r))]);
    pair.agent.send({ type: 'EXIT', stream: req.stream, fields: { offset: 40_003n, exitCode: 0 } });
    await ended;
    assert.throws(() => h[Symbol.asyncIterator](), { code: 'failed_precondition' });
  });

  it('stdin never exceeds the agent window', async () => {
    const { h, req } = await started(['cat'], { stdin: true });
    const total = 300_000;
    const data = Buffer.alloc(total);
    for (let i = 0; i < total; i++) data[i] = i % 251;
    const writing = h.write(data).then(() => h.end());
    const got: Buffer[] = [];
    let received = 0;
    let acked = 0;
    for (;;) {
      const m = await pair.agent.next();
      if (m.type === 'STDIN_EOF') break;
      assert.equal(m.type, 'STDIN');
      if (m.type !== 'STDIN') return;
      got.push(Buffer.from(m.data));
      received += m.data.byteLength;
      assert.ok(received - acked <= 65_536, `in flight ${received - acked}`);
      if (received - acked >= 32_768 || received === total) {
        acked = received;
        pair.agent.send({ type: 'CREDIT', stream: req.stream, fields: { offset: BigInt(acked) } });
      }
    }
    await writing;
    assert.deepEqual(Buffer.concat(got), data);
  });

  it('EXIT before all output arrived is a protocol error', async () => {
    const { h, req } = await started();
    pair.agent.send(out(req.stream, 0, 'abc'));
    pair.agent.send({ type: 'EXIT', stream: req.stream, fields: { offset: 10n, exitCode: 0 } });
    await assert.rejects(h.wait(), { code: 'unavailable' });
    assert.equal((await pair.agent.expect('ERROR')).fields.errno, 'EPROTO');
  });

  it('output that overlaps what came before is a protocol error', async () => {
    const { h, req } = await started();
    pair.agent.send(out(req.stream, 0, 'abc'));
    pair.agent.send(out(req.stream, 2, 'c'));
    await assert.rejects(h.wait(), { code: 'unavailable' });
  });

  it('signal, resize and detach send their frames', async () => {
    const { h, req } = await started();
    h.signal('SIGTERM');
    assert.deepEqual((await pair.agent.expect('SIGNAL')).fields, { signal: 15 });
    h.resize({ rows: 50, cols: 132 });
    assert.deepEqual((await pair.agent.expect('RESIZE')).fields, { rows: 50, cols: 132 });
    h.detach();
    assert.equal((await pair.agent.expect('CLOSE')).stream, req.stream);
    await assert.rejects(h.wait(), { code: 'failed_precondition' });
    assert.throws(() => h.signal('SIGNOPE' as NodeJS.Signals), { code: 'invalid_argument' });
  });

  it('attach replays from an offset and accepts a later start offset', async () => {
    const h = pair.client.attach(7, { offset: 100 });
    const req = await pair.agent.expect('ATTACH');
    assert.deepEqual(req.fields, { procId: 7, offset: 100n });
    pair.agent.send({ type: 'STARTED', stream: req.stream, fields: { procId: 7, pid: 70, offset: 100n } });
    pair.agent.send(out(req.stream, 100, 'rest'));
    pair.agent.send({ type: 'EXIT', stream: req.stream, fields: { offset: 104n, exitCode: 0 } });
    const chunks = [];
    for await (const c of h) chunks.push(c);
    assert.deepEqual(chunks.map((c) => [c.offset, c.data.toString()]), [[100, 'rest']]);
    assert.equal((await h.wait()).outputBytes, 104);
  });

  it('aborting the exec signal kills the process group', async () => {
    const ac = new AbortController();
    const h = pair.client.exec({ argv: ['sleep'], signal: ac.signal });
    const req = await pair.agent.expect('EXEC');
    ac.abort();
    assert.deepEqual((await pair.agent.expect('SIGNAL')).fields, { signal: 9 });
    pair.agent.send({ type: 'STARTED', stream: req.stream, fields: { procId: 1, pid: 2, offset: 0n } });
    pair.agent.send({ type: 'EXIT', stream: req.stream, fields: { offset: 0n, termSignal: 9 } });
    assert.equal((await h.wait()).signal, 'SIGKILL');
  });
});
