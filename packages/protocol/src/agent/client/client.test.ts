import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProtocolError } from '../errors.js';
import { AgentError } from './agent-error.js';
import { AgentClient } from './client.js';
import { closePair, FakeAgent, openPair, readyFields, type Pair } from './fake-agent.test-support.js';
import type { AgentListener } from './listener.js';

let pair: Pair;
let client: AgentClient;
let agent: FakeAgent;
let listener: AgentListener;

beforeEach(async () => {
  pair = await openPair();
  ({ client, agent, listener } = pair);
});
afterEach(() => closePair(pair));

describe('handshake', () => {
  it('reads READY and answers HELLO with the capabilities both sides know', async () => {
    assert.equal(client.ready.agentVersion, 'fake-1');
    assert.equal(client.ready.bootId, '0000000000000abc');
    assert.deepEqual(client.ready.timingsUs, { boot: 120, connect: 30 });
    assert.deepEqual([...client.ready.caps].sort(), ['attach', 'configure', 'credit', 'exec', 'files', 'pty']);
  });

  it('sends HELLO caps as the intersection', async () => {
    const other = await FakeAgent.connect(listener.path, readyFields({ caps: 0b1001n }));
    const c = await listener.accept();
    const hello = await other.expect('HELLO');
    assert.equal(hello.fields.caps, 0b1001n);
    assert.throws(() => c.exec({ argv: ['x'], pty: true }), { code: 'failed_precondition' });
    await c.close();
    other.socket.destroy();
  });

  it('refuses an agent speaking another version, telling it why', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(join(pair.dir, 'raw.sock'), r));
    const accepted = new Promise<Socket>((r) => srv.once('connection', r));
    const fake = await FakeAgent.connect(join(pair.dir, 'raw.sock'), readyFields({ version: 2 }));
    await assert.rejects(AgentClient.fromDuplex(await accepted), (err: unknown) => {
      return err instanceof AgentError && err.cause instanceof ProtocolError && err.cause.code === 'unsupported_version';
    });
    assert.equal((await fake.expect('ERROR')).fields.errno, 'EPROTO');
    fake.socket.destroy();
    srv.close();
  });
});

describe('requests', () => {
  it('ping round-trips on a fresh stream', async () => {
    const p = client.ping();
    const req = await agent.expect('PING');
    assert.ok(req.stream > 0);
    agent.send({ type: 'OK', stream: req.stream, fields: {} });
    assert.ok((await p) >= 0);
  });

  it('maps ERROR errno to an AgentError code', async () => {
    const p = client.stat('/nope');
    const req = await agent.expect('STAT');
    agent.send({ type: 'ERROR', stream: req.stream, fields: { errno: 'ENOENT', message: 'no such file' } });
    await assert.rejects(p, { name: 'AgentError', code: 'not_found', errno: 'ENOENT' });
  });

  it('stat, list and ps turn replies into plain values', async () => {
    const s = client.stat('/etc', { followSymlinks: true });
    const sreq = await agent.expect('STAT');
    assert.equal(sreq.fields.flags, 1);
    agent.send({ type: 'OK', stream: sreq.stream, fields: { ftype: 2, mode: 0o40755, size: 4096n, uid: 0, gid: 0, mtimeNs: 5n } });
    assert.deepEqual(await s, { type: 'directory', mode: 0o40755, sizeBytes: 4096, uid: 0, gid: 0, mtimeNs: 5n });

    const l = client.list('/d');
    const lreq = await agent.expect('LIST');
    const { encodeFields } = await import('../tlv.js');
    const { ENTRY_KINDS } = await import('../messages.js');
    const e = (name: string): Uint8Array =>
      encodeFields(ENTRY_KINDS.file, { name, ftype: 3, mode: 0o120777, size: 1n, mtimeNs: 2n, target: '/t' }, 'entry');
    agent.send({ type: 'ENTRIES', stream: lreq.stream, fields: { entry: [e('a'), e('b')] } });
    agent.send({ type: 'ENTRIES', stream: lreq.stream, fields: { entry: [e('c')] } });
    agent.send({ type: 'OK', stream: lreq.stream, fields: {} });
    assert.deepEqual((await l).map((x) => [x.name, x.type, x.target]), [['a', 'symlink', '/t'], ['b', 'symlink', '/t'], ['c', 'symlink', '/t']]);

    const p = client.ps();
    const preq = await agent.expect('PS');
    const proc = encodeFields(ENTRY_KINDS.process, { procId: 3, pid: 40, argv: ['sleep', '9'], state: 1, offset: 10n, termSignal: 15 }, 'entry');
    agent.send({ type: 'ENTRIES', stream: preq.stream, fields: { entry: [proc] } });
    agent.send({ type: 'OK', stream: preq.stream, fields: {} });
    assert.deepEqual(await p, [{ procId: 3, pid: 40, argv: ['sleep', '9'], state: 'exited', outputBytes: 10, exitCode: null, signal: 'SIGTERM' }]);
  });

  it('an OK missing a field its request needs is a protocol error', async () => {
    const s = client.stat('/x');
    const req = await agent.expect('STAT');
    agent.send({ type: 'OK', stream: req.stream, fields: { ftype: 1 } });
    await assert.rejects(s, { code: 'unavailable' });
    assert.equal((await agent.expect('ERROR')).fields.errno, 'EPROTO');
  });

  it('abort rejects with the reason and closes the stream', async () => {
    const ac = new AbortController();
    const p = client.ping({ signal: ac.signal });
    const req = await agent.expect('PING');
    ac.abort(new Error('enough'));
    await assert.rejects(p, /enough/);
    const close = await agent.expect('CLOSE');
    assert.equal(close.stream, req.stream);
    agent.send({ type: 'OK', stream: req.stream, fields: {} }); // late reply: ignored
    const p2 = client.ping();
    const req2 = await agent.expect('PING');
    assert.notEqual(req2.stream, req.stream);
    agent.send({ type: 'OK', stream: req2.stream, fields: {} });
    await p2;
  });

  it('a bad caller value is invalid_argument and sends nothing', async () => {
    assert.throws(() => client.exec({ argv: ['a\0b'] }), { code: 'invalid_argument' });
    assert.throws(() => client.exec({ argv: [] }), { code: 'invalid_argument' });
    await assert.rejects(client.stat('x'.repeat(5000)), { code: 'invalid_argument' });
    const p = client.ping();
    const req = await agent.expect('PING');
    agent.send({ type: 'OK', stream: req.stream, fields: {} });
    await p;
  });
});

describe('connection failures', () => {
  it('a disconnect rejects open calls with unavailable and emits disconnect', async () => {
    const events: AgentError[] = [];
    client.on('disconnect', (e) => events.push(e));
    const p = client.ping();
    const h = client.exec({ argv: ['sleep', '1'] });
    await agent.expect('PING');
    agent.socket.destroy();
    await assert.rejects(p, { code: 'unavailable' });
    await assert.rejects(h.wait(), { code: 'unavailable' });
    assert.equal(events.length, 1);
    assert.ok(client.signal.aborted);
    await assert.rejects(client.ping(), { code: 'unavailable' });
  });

  it('a host message from the agent is a protocol error reported with EPROTO', async () => {
    agent.send({ type: 'PING', stream: 5, fields: {} });
    const report = await agent.expect('ERROR');
    assert.equal(report.stream, 0);
    assert.equal(report.fields.errno, 'EPROTO');
    assert.match(report.fields.message ?? '', /unexpected_message/);
    // The link ends after the report is sent; wait for that, not for a fixed time.
    if (!client.signal.aborted) await Promise.race([once(client.signal, 'abort'), sleep(5000)]);
    assert.ok(client.signal.aborted);
  });

  it('an agent ERROR on stream 0 ends the connection without a reply', async () => {
    agent.send({ type: 'ERROR', stream: 0, fields: { errno: 'EPROTO', message: 'bad frame' } });
    await new Promise((r) => client.once('disconnect', r));
    const reason: unknown = client.signal.reason;
    assert.ok(reason instanceof AgentError);
    assert.match(reason.message, /peer_error/);
    assert.equal(agent.pending().length, 0);
  });

  it('frames for streams the host never opened are ignored', async () => {
    agent.send({ type: 'OK', stream: 999, fields: {} });
    agent.send({ type: 'STARTED', stream: 0, fields: { procId: 1, pid: 1, offset: 0n } });
    const p = client.ping();
    const req = await agent.expect('PING');
    agent.send({ type: 'OK', stream: req.stream, fields: {} });
    await p;
  });
});
