// Terminals end to end: the SDK's shell over shedd's WebSocket route, a pty in a real
// sandbox, resize, exit codes, detach and reattach from an offset, and bad input.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { Shed, ShedApiError, type Sandbox, type Terminal } from '@shed/sdk';
import WebSocket from 'ws';
import { useLeakCheck } from '../helpers/leaks.js';
import { daemonDirs, e2eUnavailable, startShedd, useShedd, type Shedd } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e terminal tests skipped: ${skip}`);
useLeakCheck();

const code = (c: string) => (e: unknown) => e instanceof ShedApiError && e.code === c;

/** Reads the terminal until its output so far matches `re`; returns all of it. */
async function readUntil(it: AsyncIterator<Buffer>, re: RegExp, seen = { text: '' }): Promise<string> {
  while (!re.test(seen.text)) {
    const r = await it.next();
    if (r.done === true) assert.fail(`output ended before ${re}: ${JSON.stringify(seen.text)}`);
    seen.text += r.value.toString('utf8');
  }
  return seen.text;
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
}

async function readAll(t: Terminal): Promise<string> {
  let text = '';
  for await (const chunk of t) text += chunk.toString('utf8');
  return text;
}

/** A raw WebSocket on shedd's socket, for what the SDK never sends. */
function rawSocket(d: Shedd, path: string): WebSocket {
  const ws = new WebSocket(`ws+unix://${d.socketPath}:${path}`);
  ws.on('error', () => undefined); // the tests look at the close code or the refused upgrade
  return ws;
}

function closeOf(ws: WebSocket): Promise<{ code: number; messages: string[] }> {
  const messages: string[] = [];
  ws.on('message', (data, isBinary) => void (isBinary ? undefined : messages.push(String(data))));
  return new Promise((resolve) => ws.on('close', (c) => resolve({ code: c, messages })));
}

describe('e2e: terminals (SDK shell → WebSocket → pty in a sandbox)', { skip }, () => {
  const fx = useShedd('shed-e2e-shell-');
  let sb: Sandbox;

  before(async () => {
    sb = await fx.shed.sandboxes.create({ image: 'default', name: 'term', env: { FROM_SANDBOX: 'yes' } });
  });

  it('runs a command on a terminal of the requested size, with TERM and the sandbox env', async () => {
    const t = await sb.shell({ cols: 101, rows: 33, term: 'vt100', cmd: ['sh', '-c', 'stty size; echo "$TERM $FROM_SANDBOX"; [ -t 0 ] && echo tty'] });
    assert.ok(t.procId > 0 && t.pid > 0);
    const text = await readAll(t);
    assert.equal(text.replace(/\r/g, ''), '33 101\nvt100 yes\ntty\n');
    assert.deepEqual(await t.wait(), { exitCode: 0, signal: null, timedOut: false });
  });

  it("starts the image's shell by default; resize reaches it; exit code propagates", async () => {
    const t = await sb.shell({ cols: 80, rows: 24 });
    const it = t[Symbol.asyncIterator]();
    const seen = { text: '' };
    await readUntil(it, /BusyBox .* built-in shell/, seen); // the default image's shell is busybox ash
    await t.write('stty size\n');
    await readUntil(it, /^24 80\r?$/m, seen);
    t.resize({ cols: 120, rows: 40 });
    await t.write('stty size\n');
    await readUntil(it, /^40 120\r?$/m, seen);
    await t.write('exit 7\n');
    while (!(await it.next()).done);
    assert.deepEqual(await t.wait(), { exitCode: 7, signal: null, timedOut: false });
  });

  it('a resize is a SIGWINCH to the process', async () => {
    const t = await sb.shell({ cols: 80, rows: 24, cmd: ['sh', '-c', 'trap \'echo "winch-$(stty size | tr " " x)"; exit 0\' WINCH; echo ready; while :; do sleep 0.02; done'] });
    const it = t[Symbol.asyncIterator]();
    await readUntil(it, /ready/);
    t.resize({ cols: 90, rows: 30 });
    await readUntil(it, /winch-30x90/);
    while (!(await it.next()).done);
    assert.equal((await t.wait()).exitCode, 0);
  });

  it('signals reach the process group; input without a tty ends with EOF', async () => {
    const sleeper = await sb.shell({ cmd: ['sleep', '60'] });
    sleeper.kill('SIGTERM');
    assert.deepEqual(await sleeper.wait(), { exitCode: null, signal: 'SIGTERM', timedOut: false });
    const cat = await sb.shell({ tty: false, cmd: ['sh', '-c', 'tr a-z A-Z; echo err >&2; exit 3'] });
    await cat.write('piped\n');
    await cat.end();
    // Two pipes: the agent may read them in either order.
    assert.deepEqual((await readAll(cat)).split('\n').sort(), ['', 'PIPED', 'err']);
    assert.equal((await cat.wait()).exitCode, 3);
  });

  it('keeps the process across a dropped connection and replays the rest on reattach', async () => {
    await sb.exec(['rm', '-f', '/tmp/go', '/tmp/done']);
    const script = 'echo first; while [ ! -e /tmp/go ]; do sleep 0.02; done; echo "second-$(cat /tmp/go)"; echo third; touch /tmp/done; read x; echo "got-$x"';
    const t1 = await sb.shell({ cmd: ['sh', '-c', script] });
    await readUntil(t1[Symbol.asyncIterator](), /first\r?\n/);
    const offset = t1.offset;
    t1.detach();
    await assert.rejects(t1.wait(), code('unavailable'));
    // Output made while nobody is attached stays in the agent's buffer.
    await sb.exec(['sh', '-c', 'echo x > /tmp/go.new && mv /tmp/go.new /tmp/go']);
    assert.equal((await sb.exec(['sh', '-c', 'while [ ! -e /tmp/done ]; do sleep 0.02; done'])).exitCode, 0);
    const t2 = await sb.attachTerminal(t1.procId, { offset });
    assert.equal(t2.procId, t1.procId);
    const it = t2[Symbol.asyncIterator]();
    const seen = { text: '' };
    await readUntil(it, /third\r?\n/, seen);
    assert.equal(seen.text.replace(/\r/g, ''), 'second-x\nthird\n', 'exactly the bytes after the offset');
    await t2.write('ok\n');
    await readUntil(it, /got-ok/, seen);
    while (!(await it.next()).done);
    assert.equal((await t2.wait()).exitCode, 0);
  });

  it('a client that does not read stops the process instead of filling shedd (backpressure), and loses nothing', async () => {
    const total = 32 * 1024 * 1024;
    await sb.exec(['rm', '-f', '/tmp/bp-done']);
    const ws = rawSocket(fx.d, `/v1/sandboxes/term/shell?tty=false&cmd=sh&cmd=-c&cmd=${encodeURIComponent(`head -c ${total} /dev/zero; touch /tmp/bp-done`)}`);
    let received = 0;
    const texts: string[] = [];
    ws.on('message', (data, isBinary) => {
      if (isBinary) received += (data as Buffer).byteLength; // ws gives Buffers by default
      else texts.push(String(data));
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.pause();
    const rssBefore = await rssKiB(fx.d.pid);
    await new Promise((r) => setTimeout(r, 1000));
    const stalled = await sb.exec(['test', '-e', '/tmp/bp-done']);
    assert.equal(stalled.exitCode, 1, 'the process finished 32 MiB of output although nobody read it');
    assert.ok(received < total / 4, `received ${received} bytes while paused`);
    const grewKiB = (await rssKiB(fx.d.pid)) - rssBefore;
    assert.ok(grewKiB < 16 * 1024, `shedd grew by ${grewKiB} KiB holding unread output`);
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.resume();
    assert.equal(await closed, 1000);
    assert.equal(received, total, 'every byte arrives once the client reads');
    const exit = JSON.parse(texts.at(-1) ?? '{}') as { type?: string; exitCode?: number; offset?: number };
    assert.deepEqual([exit.type, exit.exitCode, exit.offset], ['exit', 0, total]);
  });

  it('a second attach takes the process over; the first is told why', async () => {
    const t1 = await sb.shell({ cmd: ['sh', '-c', 'read x; echo "bye-$x"'] });
    const t2 = await sb.attachTerminal(t1.procId);
    await assert.rejects(t1.wait(), code('failed_precondition'));
    await t2.write('now\n');
    assert.match(await readAll(t2), /bye-now/);
  });

  it('refuses bad requests with stable codes before the upgrade', async () => {
    await assert.rejects((await fx.shed.sandboxes.get('term')).attachTerminal(999_999), code('not_found'));
    const ghost = await fx.shed.sandboxes.get('term');
    await assert.rejects(fx.shed.sandboxes.get('nope'), code('not_found'));
    await assert.rejects(ghost.shell({ cols: 0 }), code('invalid_argument'));
    await assert.rejects(ghost.shell({ term: 'bad term' }), code('invalid_argument'));
    const ws = rawSocket(fx.d, '/v1/sandboxes/nope/shell');
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    ws.terminate();
    assert.equal(status, 404);
  });

  it('closes on an unknown control message (4400) and on an oversized message (1009); shedd stays up', async () => {
    for (const bad of ['{"type":"explode"}', '{"type":"resize","cols":10}', '{"type":"resize","cols":10,"rows":10,"x":1}', 'not json']) {
      const ws = rawSocket(fx.d, `/v1/sandboxes/term/shell?cmd=sleep&cmd=30`);
      const closed = closeOf(ws);
      ws.on('open', () => ws.send(bad));
      const { code: c, messages } = await closed;
      assert.equal(c, 4400, bad);
      const last = JSON.parse(messages.at(-1) ?? '{}') as { type?: string; error?: { code?: string } };
      assert.equal(last.type, 'error');
      assert.equal(last.error?.code, 'invalid_argument');
    }
    const big = rawSocket(fx.d, '/v1/sandboxes/term/shell?cmd=sleep&cmd=30');
    const closed = closeOf(big);
    big.on('open', () => big.send(Buffer.alloc(200_000)));
    assert.equal((await closed).code, 1009);
    const h = await fx.shed.health();
    assert.equal(h.pid, fx.d.pid);
    assert.equal((await sb.exec(['true'])).exitCode, 0);
  });
});

describe('e2e: a terminal across a shedd crash', { skip }, () => {
  it('the shell keeps running while shedd is down; a new shedd adopts it on attach, from the offset', async () => {
    const dirs = await daemonDirs('shed-e2e-shell-restart-');
    let d = await startShedd(dirs);
    let shed = await Shed.connect({ socketPath: d.socketPath });
    try {
      const sb = await shed.sandboxes.create({ image: 'default', name: 'survivor' });
      const t = await sb.shell({ cmd: ['sh', '-c', 'echo before; read x; echo "after-$x"'] });
      await readUntil(t[Symbol.asyncIterator](), /before\r?\n/);
      const offset = t.offset;
      await d.kill9();
      await assert.rejects(t.wait(), code('unavailable'));
      shed.close();
      d = await startShedd(dirs);
      shed = await Shed.connect({ socketPath: d.socketPath });
      const t2 = await (await shed.sandboxes.get('survivor')).attachTerminal(t.procId, { offset });
      await t2.write('again\n');
      assert.equal((await readAll(t2)).replace(/\r/g, ''), 'again\nafter-again\n', 'the echo of the input, then the output; nothing before the offset');
      assert.equal((await t2.wait()).exitCode, 0);
    } finally {
      for (const s of await shed.sandboxes.list()) await s.delete();
      shed.close();
      await d.stop();
    }
  });
});
