// TCP_CONNECT through the real agent. The test agent shares the host's network namespace
// (only its pid namespace is new), so the servers here listen on the host's loopback.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentClient, AgentTcpStream } from '@shed/protocol';
import { access } from 'node:fs/promises';
import { AGENT_ASAN_BINARY, AGENT_BINARY, agentUnavailable, startAgent, type RunningAgent } from '../helpers/agent.js';
import { assertNoLeaks } from '../helpers/leaks.js';

const skip = await agentUnavailable();
const asanSkip =
  skip ?? (await access(AGENT_ASAN_BINARY).then(() => undefined, () => `${AGENT_ASAN_BINARY} is missing: build it with 'make -C agent asan'`));
const MiB = 1024 * 1024;
let agent: RunningAgent;
let c: AgentClient;

const sockets = new WeakMap<Server, Set<Socket>>();

async function listen(onConn: (s: Socket) => void, host = '127.0.0.1'): Promise<{ server: Server; port: number }> {
  const open = new Set<Socket>();
  const server = createServer((s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => undefined);
    onConn(s);
  });
  sockets.set(server, open);
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port }; // listening on a TCP host: an AddressInfo
}

async function closeServer(server: Server): Promise<void> {
  server.close();
  for (const s of sockets.get(server) ?? []) s.destroy();
  await once(server, 'close');
}

/** A port nothing listens on (bound, then closed). */
async function freePort(): Promise<number> {
  const { server, port } = await listen(() => undefined);
  await closeServer(server);
  return port;
}

function pattern(bytes: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i += 4) b.writeUInt32LE(((i / 4) * 2654435761 + seed) >>> 0, i);
  return b;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Everything `s` sends until its end, leaving its writable side open (for-await would destroy it). */
async function readAll(s: AgentTcpStream | Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  await once(s, 'end');
  return Buffer.concat(parts);
}

for (const [binary, why] of [[AGENT_BINARY, skip], [AGENT_ASAN_BINARY, asanSkip]] as const) {
  describe(`TCP connections through the agent (${binary.endsWith('asan') ? 'ASan build' : 'release build'})`, { skip: why }, () => {
    before(async () => {
      agent = await startAgent({ binary });
      c = agent.client;
    });
    after(async () => {
      const stderr = agent?.stderr() ?? '';
      await agent?.stop();
      await assertNoLeaks();
      assert.doesNotMatch(stderr, /Sanitizer|runtime error/, stderr);
    });

    it('advertises the tcp capability', () => {
      assert.ok(c.ready.caps.has('tcp'));
    });

    it('echoes 16 MiB both ways with the same checksum', async () => {
      const { server, port } = await listen((s) => s.pipe(s));
      try {
        const s = await c.connectTcp(port);
        assert.equal(s.remoteAddress, '127.0.0.1');
        const data = pattern(16 * MiB, 1);
        const got = readAll(s);
        s.end(data);
        const back = await got;
        assert.equal(back.length, data.length);
        assert.equal(sha(back), sha(data));
        if (!s.closed) await once(s, 'close');
      } finally {
        await closeServer(server);
      }
    });

    it('half-closes: the server reads EOF and still answers', async () => {
      const { server, port } = await listen((sock) => {
        let n = 0;
        sock.on('data', (d: Buffer) => (n += d.length));
        sock.on('end', () => sock.end(`got ${n}`));
      });
      try {
        const s = await c.connectTcp(port);
        s.end(Buffer.alloc(100_000, 7));
        assert.equal((await readAll(s)).toString(), 'got 100000');
      } finally {
        await closeServer(server);
      }
    });

    it('the sandbox side ending first still lets the host finish sending', async () => {
      const received: Buffer[] = [];
      let serverSawEnd: Promise<unknown> | undefined;
      const { server, port } = await listen((sock) => {
        sock.end('bye'); // half-close from the server; keep reading
        sock.on('data', (d: Buffer) => received.push(d));
        serverSawEnd = once(sock, 'end');
      });
      try {
        const s = await c.connectTcp(port);
        const reply = await readAll(s);
        assert.equal(reply.toString(), 'bye');
        s.end('late data');
        if (!s.closed) await once(s, 'close');
        await Promise.race([serverSawEnd, sleep(10_000)]); // the host's end reaches the server after its data
        assert.equal(Buffer.concat(received).toString(), 'late data');
      } finally {
        await closeServer(server);
      }
    });

    it('refused: ECONNREFUSED as unavailable, with the port in the message', async () => {
      const port = await freePort();
      await assert.rejects(c.connectTcp(port), (err: Error & { errno?: string; code?: string }) => {
        assert.equal(err.errno, 'ECONNREFUSED');
        assert.equal(err.code, 'unavailable');
        assert.match(err.message, new RegExp(`port ${port}`));
        return true;
      });
      await assert.rejects(c.connectTcp(port, { addr: '127.0.0.1' }), { errno: 'ECONNREFUSED' });
      await assert.rejects(c.connectTcp(port, { addr: 'not-an-ip' }), { errno: 'EINVAL', code: 'invalid_argument' });
      assert.throws(() => c.connectTcp(0), { code: 'invalid_argument' });
      // The connection is still fine afterwards.
      assert.ok((await c.ping()) >= 0);
    });

    it('falls back to ::1 when only an IPv6 loopback server listens', async (t) => {
      let v6: { server: Server; port: number };
      try {
        v6 = await listen((s) => s.end('six'), '::1');
      } catch (err) {
        t.skip(`no IPv6 loopback here: ${(err as Error).message}`); // listen errors are Errors
        return;
      }
      try {
        const s = await c.connectTcp(v6.port);
        assert.equal(s.remoteAddress, '::1');
        assert.equal((await readAll(s)).toString(), 'six');
        s.end();
      } finally {
        await closeServer(v6.server);
      }
    });

    it('backpressure: an unread stream stops the server, then delivers everything', async () => {
      const data = pattern(32 * MiB, 2);
      let serverSock: Socket | undefined;
      const { server, port } = await listen((sock) => {
        serverSock = sock;
        sock.end(data);
      });
      try {
        const s = await c.connectTcp(port);
        s.pause();
        await sleep(300);
        // The agent read at most one window, the host buffered at most that plus its
        // high-water mark; the rest waits in the server's own buffers.
        assert.ok(s.readableLength <= 256 * 1024 + s.readableHighWaterMark + 128 * 1024, `host holds ${s.readableLength}`);
        assert.ok((serverSock?.writableLength ?? 0) > 16 * MiB, `server still holds ${serverSock?.writableLength}`);
        s.resume();
        const got = await readAll(s);
        assert.equal(sha(got), sha(data));
        s.end();
      } finally {
        await closeServer(server);
      }
    });

    it('backpressure the other way: a server that does not read holds the writer', async () => {
      let accepted = (_s: Socket): void => undefined;
      const serverSocket = new Promise<Socket>((resolve) => (accepted = resolve));
      const { server, port } = await listen((sock) => {
        sock.pause();
        accepted(sock);
      });
      try {
        const s = await c.connectTcp(port);
        const data = pattern(16 * MiB, 3);
        let done = false;
        s.write(data, () => (done = true));
        // Accepted (a busy host may take a moment), then 300 ms in which the write could complete if nothing held it.
        const serverSock = await Promise.race([serverSocket, sleep(10_000).then(() => assert.fail('the server never accepted the connection'))]);
        await sleep(300);
        assert.equal(done, false, 'the write completed although nothing read it');
        const got: Buffer[] = [];
        serverSock.on('data', (d: Buffer) => got.push(d));
        serverSock.resume();
        s.end();
        await once(serverSock, 'end');
        assert.equal(sha(Buffer.concat(got)), sha(data));
        serverSock.end();
        await readAll(s);
        if (!s.closed) await once(s, 'close');
      } finally {
        await closeServer(server);
      }
    });

    it('destroy resets the sandbox side', async () => {
      let arrived = (): void => undefined;
      const dataArrived = new Promise<void>((resolve) => (arrived = resolve));
      let ended = (_how: string): void => undefined;
      const closed = new Promise<string>((resolve) => (ended = resolve));
      const { server, port } = await listen((sock) => {
        // Read (flowing), so an orderly end would show as 'end' rather than never.
        sock.on('data', () => arrived());
        sock.on('error', (e: NodeJS.ErrnoException) => ended(e.code ?? 'error'));
        sock.on('end', () => ended('end'));
        sock.on('close', () => ended('close'));
      });
      try {
        const s = await c.connectTcp(port);
        s.write('x');
        // The server has accepted the connection and read from it: a reset while the connection
        // still sat in the accept queue (a busy host) would reach the server as a bare EOF.
        await Promise.race([dataArrived, sleep(10_000)]);
        s.destroy();
        assert.equal(await Promise.race([closed, sleep(10_000).then(() => 'nothing in 10 s')]), 'ECONNRESET');
      } finally {
        await closeServer(server);
      }
    });

    it('many connections at once', async () => {
      const { server, port } = await listen((s) => s.pipe(s));
      try {
        const results = await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const s = await c.connectTcp(port);
            const got = readAll(s);
            s.end(`hello ${i}`);
            return (await got).toString();
          }),
        );
        assert.deepEqual(results, Array.from({ length: 50 }, (_, i) => `hello ${i}`));
      } finally {
        await closeServer(server);
      }
    });
  });
}
