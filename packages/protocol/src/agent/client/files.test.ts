import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { closePair, openPair, type Pair } from './fake-agent.test-support.js';

let pair: Pair;
beforeEach(async () => {
  pair = await openPair();
});
afterEach(() => closePair(pair));

describe('files', () => {
  it('read streams DATA, credits bytes taken (not file positions) and checks OK size', async () => {
    const chunks: Buffer[] = [];
    const reading = (async () => {
      for await (const c of pair.client.read('/f', { offset: 1000, windowBytes: 65_536 })) chunks.push(c);
    })();
    const req = await pair.agent.expect('FREAD');
    assert.deepEqual(req.fields, { path: '/f', offset: 1000n, window: 65_536 });
    for (let i = 0; i < 8; i++) {
      pair.agent.send({ type: 'DATA', stream: req.stream, offset: BigInt(1000 + i * 8192), data: Buffer.alloc(8192, i) });
    }
    assert.equal((await pair.agent.expect('CREDIT')).fields.offset, 32_768n);
    assert.equal((await pair.agent.expect('CREDIT')).fields.offset, 65_536n);
    pair.agent.send({ type: 'OK', stream: req.stream, fields: { size: 65_536n } });
    await reading;
    assert.equal(Buffer.concat(chunks).length, 65_536);
  });

  it('readFile rejects a size mismatch and a gap as protocol errors', async () => {
    const p = pair.client.readFile('/f');
    const req = await pair.agent.expect('FREAD');
    pair.agent.send({ type: 'DATA', stream: req.stream, offset: 0n, data: Buffer.from('abc') });
    pair.agent.send({ type: 'OK', stream: req.stream, fields: { size: 4n } });
    await assert.rejects(p, { code: 'unavailable' });
  });

  it('readFile reports EISDIR', async () => {
    const p = pair.client.readFile('/d');
    const req = await pair.agent.expect('FREAD');
    pair.agent.send({ type: 'ERROR', stream: req.stream, fields: { errno: 'EISDIR' } });
    await assert.rejects(p, { code: 'failed_precondition', errno: 'EISDIR' });
  });

  it('leaving a read early closes the stream', async () => {
    const reading = (async () => {
      for await (const _ of pair.client.read('/f')) break;
    })();
    const req = await pair.agent.expect('FREAD');
    pair.agent.send({ type: 'DATA', stream: req.stream, offset: 0n, data: Buffer.from('abc') });
    await reading;
    assert.equal((await pair.agent.expect('CLOSE')).stream, req.stream);
  });

  it('writeFile sends WDATA within the window, then WEND, and returns the size', async () => {
    async function* source(): AsyncIterable<Uint8Array> {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(20_000, i);
    }
    const p = pair.client.writeFile('/f', source(), { mode: 0o600, append: true });
    const req = await pair.agent.expect('FWRITE');
    assert.deepEqual(req.fields, { path: '/f', mode: 0o600, flags: 1 | 4 });
    let got = 0;
    let acked = 0;
    for (;;) {
      const m = await pair.agent.next();
      if (m.type === 'WEND') break;
      assert.equal(m.type, 'WDATA');
      if (m.type !== 'WDATA') return;
      got += m.data.byteLength;
      assert.ok(got - acked <= 65_536);
      if (got - acked >= 32_768 || got === 200_000) {
        acked = got;
        pair.agent.send({ type: 'CREDIT', stream: req.stream, fields: { offset: BigInt(acked) } });
      }
    }
    pair.agent.send({ type: 'OK', stream: req.stream, fields: { size: 200_000n } });
    assert.equal(await p, 200_000);
  });

  it('writeFile stops at the agent ERROR and reports its errno', async () => {
    const p = pair.client.writeFile('/ro/f', Buffer.alloc(200_000), { exclusive: true });
    const req = await pair.agent.expect('FWRITE');
    assert.equal(req.fields.flags, 1 | 2 | 8);
    await pair.agent.expect('WDATA');
    pair.agent.send({ type: 'ERROR', stream: req.stream, fields: { errno: 'EROFS' } });
    await assert.rejects(p, { errno: 'EROFS', code: 'failed_precondition' });
    await sleep(20);
    assert.ok(pair.agent.pending().every((m) => m.type === 'CLOSE' || m.type === 'WDATA'));
  });

  it('mkdir, remove, rename and configure send their flags', async () => {
    const calls = [
      pair.client.mkdir('/a/b', { parents: true }),
      pair.client.remove('/a', { recursive: true }),
      pair.client.rename('/x', '/y'),
      pair.client.configure({ hostname: 'h', env: { K: 'v' } }),
    ];
    const expected = [
      ['MKDIR', { path: '/a/b', flags: 1 }],
      ['REMOVE', { path: '/a', flags: 1 }],
      ['RENAME', { path: '/x', path2: '/y' }],
      ['CONFIGURE', { hostname: 'h', env: ['K=v'] }],
    ];
    for (const [type, fields] of expected) {
      const m = await pair.agent.next();
      assert.equal(m.type, type);
      assert.ok('fields' in m);
      assert.deepEqual(m.fields, fields);
      pair.agent.send({ type: 'OK', stream: m.stream, fields: {} });
    }
    await Promise.all(calls);
  });
});
