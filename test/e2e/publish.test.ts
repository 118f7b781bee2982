// Published ports end to end: `ports` on create (and `shed create --publish`) makes shedd
// listen on 127.0.0.1:HOSTPORT and forward to the sandbox's port through its agent; the
// listener comes back after kill -9 of shedd, goes away on stop and delete and when the
// sandbox dies on its own, and a host port in use fails the create with a stable code and
// leaves nothing behind.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { get, type IncomingMessage } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ShedApiError, type Sandbox } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { containerHandles, e2eUnavailable, runCli, useShedd } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e publish tests skipped: ${skip}`);
useLeakCheck();

async function hold(port = 0): Promise<Server> {
  const s = createServer();
  s.listen(port, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

async function release(s: Server): Promise<void> {
  s.close();
  await once(s, 'close');
}

/** A port free right now (bound, then released). */
async function freePort(): Promise<number> {
  const s = await hold();
  const port = (s.address() as AddressInfo).port; // a TCP server's address
  await release(s);
  return port;
}

/** GET on the host's loopback; retries for up to `retryMs` while the sandbox's server is starting (a reset or refusal). */
async function fetchText(port: number, path: string, retryMs = 10_000): Promise<{ status: number; body: string }> {
  for (const deadline = Date.now() + retryMs; ;) {
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => get({ host: '127.0.0.1', port, path }, resolve).on('error', reject));
      let body = '';
      for await (const c of res) body += (c as Buffer).toString();
      return { status: res.statusCode ?? 0, body };
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await sleep(30);
    }
  }
}

/** Whether the test can bind the port itself (shedd no longer holds it). */
async function bindable(port: number): Promise<boolean> {
  try {
    await release(await hold(port));
    return true;
  } catch {
    return false;
  }
}

async function serveWeb(sb: Sandbox): Promise<void> {
  await sb.exec(['mkdir', '-p', '/www']);
  await sb.files.write('/www/index.html', `hello from ${sb.id}\n`);
  await sb.spawn(['busybox', 'httpd', '-f', '-p', '127.0.0.1:8000', '-h', '/www']);
}

describe('e2e: published ports', { skip }, () => {
  const fx = useShedd('shed-e2e-publish-');

  it('forwards 127.0.0.1:HOSTPORT to the sandbox, survives kill -9 of shedd, and is released by stop and delete', async () => {
    const hostPort = await freePort();
    const sb = await fx.shed.sandboxes.create({ image: 'default', ports: [{ hostPort, port: 8000 }] });
    assert.deepEqual(sb.info.ports, [{ hostIp: '127.0.0.1', hostPort, port: 8000 }]);
    await serveWeb(sb);
    assert.deepEqual(await fetchText(hostPort, '/index.html'), { status: 200, body: `hello from ${sb.id}\n` });
    assert.equal(await bindable(hostPort), false);

    fx.shed.close();
    await fx.d.kill9();
    // shedd is gone, and its listener with it; the sandbox and its server keep running.
    assert.equal(await bindable(hostPort), true);
    await fx.start();
    assert.deepEqual(await fetchText(hostPort, '/index.html', 0), { status: 200, body: `hello from ${sb.id}\n` });

    const again = await fx.shed.sandboxes.get(sb.id);
    await again.stop();
    assert.equal(await bindable(hostPort), true, 'a stopped sandbox still holds its host port');
    await again.start();
    assert.equal(await bindable(hostPort), false, 'start did not publish again');
    await serveWeb(again);
    assert.equal((await fetchText(hostPort, '/index.html')).status, 200);
    await again.delete();
    assert.equal(await bindable(hostPort), true, 'a deleted sandbox still holds its host port');
  });

  it('a sandbox that dies on its own releases its host port; start binds it again', async () => {
    const hostPort = await freePort();
    const sb = await fx.shed.sandboxes.create({ image: 'default', ports: [{ hostPort, port: 8000 }] });
    assert.equal(await bindable(hostPort), false);
    process.kill((await containerHandles(fx.dirs, sb.id)).initPid, 'SIGKILL');
    // The dropped agent link makes shedd look: the sandbox is marked stopped, then its listeners close.
    for (let i = 0; (await fx.shed.sandboxes.get(sb.id)).info.state !== 'stopped' || !(await bindable(hostPort)); i++) {
      assert.ok(i < 300, `the dead sandbox still holds ${hostPort} (state ${(await fx.shed.sandboxes.get(sb.id)).info.state})`);
      await sleep(30);
    }
    const again = await fx.shed.sandboxes.get(sb.id);
    await again.start();
    assert.equal(await bindable(hostPort), false, 'start did not publish again');
    await again.delete();
    assert.equal(await bindable(hostPort), true);
  });

  it('a host port in use fails the create with failed_precondition and leaves no sandbox', async () => {
    const taken = await hold();
    const hostPort = (taken.address() as AddressInfo).port; // a TCP server's address
    try {
      const before = (await fx.shed.sandboxes.list({ all: true })).length;
      await assert.rejects(fx.shed.sandboxes.create({ image: 'default', name: 'clash', ports: [{ hostPort: await freePort(), port: 1 }, { hostPort, port: 80 }] }), (e: unknown) => {
        assert.ok(e instanceof ShedApiError);
        assert.equal(e.code, 'failed_precondition');
        assert.equal(e.details['errno'], 'EADDRINUSE');
        assert.equal(e.details['hostPort'], hostPort);
        return true;
      });
      assert.equal((await fx.shed.sandboxes.list({ all: true })).length, before);
      // The name was not taken by the failed create.
      await assert.rejects(fx.shed.sandboxes.get('clash'), { code: 'not_found' });
    } finally {
      await release(taken);
    }
    await assert.rejects(fx.shed.sandboxes.create({ image: 'default', ports: [{ hostPort: 70000, port: 80 }] }), { code: 'invalid_argument' });
    await assert.rejects(fx.shed.sandboxes.create({ image: 'default', ports: [{ hostPort: 8080, port: 80, hostIp: 'not-ip' }] }), { code: 'invalid_argument' });
  });

  it('shed create --publish, shown by shed inspect; a refused connection is reset, not hung', async () => {
    const hostPort = await freePort();
    const r = await runCli(fx.dirs, 'create', 'default', '--publish', `127.0.0.1:${hostPort}:8000`);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    const inspect = await runCli(fx.dirs, 'inspect', id);
    assert.match(inspect.stdout, new RegExp(`published:\\s+127\\.0\\.0\\.1:${hostPort} -> 8000`));
    // Nothing listens on 8000 in the sandbox yet: the connection is accepted, then reset.
    await assert.rejects(fetchText(hostPort, '/', 0), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET' || e.code === 'EPIPE' || e.code === 'ECONNREFUSED');
    const bad = await runCli(fx.dirs, 'create', 'default', '--publish', 'nonsense');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /HOSTPORT:PORT/);
    assert.equal((await runCli(fx.dirs, 'rm', id)).code, 0);
    assert.equal(await bindable(hostPort), true);
  });
});
