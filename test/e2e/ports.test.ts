// Ports of a sandbox reached from the host through a real shedd and the agent: the HTTP
// proxy route (busybox httpd and a CGI in the sandbox), an upgrade piped raw (a handshake
// answered by a shell script, then echo), the raw TCP tunnel (SDK), large bodies with
// bounded daemon memory, and a refused port as a stable error.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { get, request } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import type { Socket } from 'node:net';
import { before, describe, it } from 'node:test';
import { ShedApiError, type Sandbox } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { waitListening } from '../helpers/sandbox-ports.js';
import { rssBytes } from '../helpers/procs.js';
import { CLI, e2eUnavailable, useShedd } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e port tests skipped: ${skip}`);
useLeakCheck();

const MiB = 1024 * 1024;
const HTTP_PORT = 8000;
const ECHO_PORT = 9000;
const UPGRADE_PORT = 9001;

/** Answers one upgrade request with 101 (echoing its request line), then echoes bytes. */
const UPGRADE_SCRIPT = `#!/bin/sh
IFS= read -r first
while IFS= read -r l; do case "$l" in "$(printf '\\r')"|"") break;; esac; echo "$l" >>/tmp/upgrade-headers; done
printf 'HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\nX-Request-Line: %s\\r\\n\\r\\n' "$(echo "$first" | tr -d '\\r')"
exec cat
`;

const CGI_SCRIPT = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "method=$REQUEST_METHOD query=$QUERY_STRING"
cat
`;

async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => get({ host: '127.0.0.1', port, path }, resolve).on('error', reject));
  return { status: res.statusCode ?? 0, body: (await readAll(res)).toString() };
}

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('e2e: sandbox ports through shedd', { skip }, () => {
  const fx = useShedd('shed-e2e-ports-');
  let sb: Sandbox;

  before(async () => {
    sb = await fx.shed.sandboxes.create({ image: 'default' });
    await sb.files.write('/www/cgi-bin/echo', CGI_SCRIPT, { mode: 0o755 }).catch(async () => {
      await sb.exec(['mkdir', '-p', '/www/cgi-bin']);
      await sb.files.write('/www/cgi-bin/echo', CGI_SCRIPT, { mode: 0o755 });
    });
    await sb.files.write('/www/index.html', 'hello from the sandbox\n');
    await sb.files.write('/upgrade.sh', UPGRADE_SCRIPT, { mode: 0o755 });
    await sb.spawn(['busybox', 'httpd', '-f', '-p', `127.0.0.1:${HTTP_PORT}`, '-h', '/www']);
    await sb.spawn(['busybox', 'nc', '-ll', '-p', String(ECHO_PORT), '-e', 'cat']);
    await sb.spawn(['busybox', 'nc', '-ll', '-p', String(UPGRADE_PORT), '-e', '/upgrade.sh']);
    await Promise.all([waitListening(sb, HTTP_PORT), waitListening(sb, ECHO_PORT), waitListening(sb, UPGRADE_PORT)]);
  });

  it('proxies GET and a POST body to a CGI, with query and status', async () => {
    const r = await sb.ports.fetch(HTTP_PORT, '/index.html');
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'hello from the sandbox\n');
    const post = await sb.ports.fetch(HTTP_PORT, '/cgi-bin/echo?a=1&b=two', { method: 'POST', body: 'posted body', headers: { 'content-type': 'text/plain' } });
    assert.equal(post.status, 200);
    assert.equal(await post.text(), 'method=POST query=a=1&b=two\nposted body');
    const missing = await sb.ports.fetch(HTTP_PORT, '/nope');
    assert.equal(missing.status, 404); // the sandbox server's answer, not an error of shed's
    missing.body.resume();
  });

  it('a refused port is a stable error: 503 unavailable with errno ECONNREFUSED', async () => {
    await assert.rejects(sb.ports.fetch(7777, '/'), (e: unknown) => {
      assert.ok(e instanceof ShedApiError);
      assert.equal(e.code, 'unavailable');
      assert.equal(e.status, 503);
      assert.equal(e.details['errno'], 'ECONNREFUSED');
      assert.match(e.message, /port 7777/);
      return true;
    });
    await assert.rejects(sb.ports.connect(7777), { code: 'unavailable', status: 503 });
    await assert.rejects(sb.ports.fetch(70000, '/'), { code: 'invalid_argument' });
    await assert.rejects(fx.shed.sandboxes.get('no-such-sandbox').then((s) => s.ports.fetch(80)), { code: 'not_found' });
  });

  it('streams 64 MiB through the proxy with the same checksum and bounded daemon memory', async () => {
    await sb.exec(['sh', '-c', 'dd if=/dev/urandom of=/www/big bs=1048576 count=64 2>/dev/null']);
    const want = (await sb.exec(['sha256sum', '/www/big'])).stdout.split(' ')[0];
    const base = (await rssBytes(fx.d.pid)) ?? 0;
    let peak = base;
    const timer = setInterval(() => void rssBytes(fx.d.pid).then((v) => (peak = Math.max(peak, v ?? 0))), 50);
    try {
      const r = await sb.ports.fetch(HTTP_PORT, '/big');
      assert.equal(r.status, 200);
      const h = createHash('sha256');
      let n = 0;
      for await (const c of r.body) {
        h.update(c as Buffer);
        n += (c as Buffer).length;
      }
      assert.equal(n, 64 * MiB);
      assert.equal(h.digest('hex'), want);
    } finally {
      clearInterval(timer);
    }
    assert.ok(peak - base < 48 * MiB, `shedd grew by ${Math.round((peak - base) / MiB)} MiB`);
  });

  it('pipes an upgrade raw both ways after the sandbox server’s own 101', async () => {
    const { socketPath } = fx.d;
    const req = request({
      socketPath, path: `/v1/sandboxes/${sb.id}/ports/${UPGRADE_PORT}/chat?room=1`,
      headers: { connection: 'Upgrade', upgrade: 'echo', 'x-custom': 'kept' },
    });
    req.end();
    const [res, socket] = (await once(req, 'upgrade')) as [import('node:http').IncomingMessage, Socket]; // the 'upgrade' event's arguments
    assert.equal(res.statusCode, 101);
    assert.equal(res.headers['x-request-line'], 'GET /chat?room=1 HTTP/1.1');
    socket.write('ping through the tunnel');
    const [echo] = (await once(socket, 'data')) as [Buffer]; // socket data are Buffers
    assert.equal(echo.toString(), 'ping through the tunnel');
    socket.destroy();
    const headers = await sb.files.readText('/tmp/upgrade-headers');
    assert.match(headers, /x-custom: kept/i);
    assert.match(headers, new RegExp(`x-forwarded-prefix: /v1/sandboxes/${sb.id}/ports/${UPGRADE_PORT}`, 'i'));
  });

  it('the raw TCP tunnel echoes 16 MiB and half-closes', async () => {
    const s = await sb.ports.connect(ECHO_PORT);
    const data = Buffer.alloc(16 * MiB);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    const got = readAll(s);
    s.end(data);
    const back = await got;
    assert.equal(back.length, data.length);
    assert.ok(back.equals(data));
  });

  it('shed port-forward listens on loopback and tunnels HTTP and raw TCP connections', async () => {
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...fx.d.env };
    const cli = spawn(process.execPath, [CLI, '--json', 'port-forward', sb.id, `0:${HTTP_PORT}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const cli2 = spawn(process.execPath, [CLI, '--json', 'port-forward', sb.id, `0:${ECHO_PORT}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const first = (p: typeof cli): Promise<{ localAddress: string; localPort: number }> => new Promise((resolve, reject) => {
        // The first document the CLI prints (pretty-printed: it ends with a '}' line), however the pipe splits it.
        let text = '';
        const onData = (chunk: Buffer): void => {
          text += chunk.toString();
          const end = text.indexOf('\n}\n');
          if (end < 0) return;
          p.stdout.off('data', onData); // still flowing: what the CLI prints later is dropped, never blocks it
          try {
            resolve(JSON.parse(text.slice(0, end + 2)) as { localAddress: string; localPort: number }); // test-only: the CLI's own --json output
          } catch (err) {
            reject(err);
          }
        };
        p.stdout.on('data', onData);
        p.once('exit', () => reject(new Error(`port-forward exited before printing its address: ${text}`)));
      });
      const [web, echo] = await Promise.all([first(cli), first(cli2)]);
      assert.equal(web.localAddress, '127.0.0.1');
      const r = await httpGet(web.localPort, '/index.html');
      assert.deepEqual(r, { status: 200, body: 'hello from the sandbox\n' });
      // Several connections at once, each its own tunnel.
      const many = await Promise.all(Array.from({ length: 8 }, () => httpGet(web.localPort, '/index.html')));
      assert.ok(many.every((x) => x.status === 200));
      const s = tcpConnect({ host: '127.0.0.1', port: echo.localPort, allowHalfOpen: true });
      await once(s, 'connect');
      const got = readAll(s);
      s.end('through port-forward');
      assert.equal((await got).toString(), 'through port-forward');
    } finally {
      for (const p of [cli, cli2]) {
        p.kill('SIGTERM');
        if (p.exitCode === null) await once(p, 'exit');
      }
    }
    assert.equal(cli.exitCode, 0);
  });
});
