// Processes through the real agent: exit status, signals, environment, identity, stdin,
// terminals, timeouts, concurrency and the process table.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentClient } from '@shed/protocol';
import { agentUnavailable, startAgent, type RunningAgent } from '../helpers/agent.js';
import { assertNoLeaks } from '../helpers/leaks.js';

const skip = await agentUnavailable();
let agent: RunningAgent;
let c: AgentClient;

describe('exec through the agent', { skip }, () => {
  before(async () => {
    agent = await startAgent();
    c = agent.client;
  });
  after(async () => {
    await agent?.stop();
    await assertNoLeaks();
  });

  it('reports exit codes and separates stdout from stderr', async () => {
    const r = await c.run(['sh', '-c', 'echo out; echo err >&2; exit 42']);
    assert.deepEqual([r.stdout.toString(), r.stderr.toString(), r.exitCode, r.signal], ['out\n', 'err\n', 42, null]);
    assert.equal((await c.run(['true'])).exitCode, 0);
    assert.equal((await c.run(['false'])).exitCode, 1);
  });

  it('reports the signal that ended a process', async () => {
    const r = await c.run(['sh', '-c', 'kill -TERM $$']);
    assert.deepEqual([r.exitCode, r.signal], [null, 'SIGTERM']);
    const h = c.exec({ argv: ['sleep', '30'] });
    await h.started;
    h.signal('SIGINT');
    assert.equal((await h.wait()).signal, 'SIGINT');
  });

  it('a program that cannot start is ENOENT and leaves no process', async () => {
    await assert.rejects(c.run(['/does/not/exist']), { code: 'not_found', errno: 'ENOENT' });
    await assert.rejects(c.run(['true'], { cwd: '/does/not/exist' }), { errno: 'ENOENT' });
  });

  it('passes env on top of the default PATH, and cwd', async () => {
    const r = await c.run(['sh', '-c', 'echo "$A|$B|$PATH"; pwd'], { env: { A: '1', B: 'x y' }, cwd: '/tmp' });
    assert.equal(r.stdout.toString(), '1|x y|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/tmp\n');
  });

  it('runs as the given uid and gid with no supplementary groups', async () => {
    const r = await c.run(['sh', '-c', 'id -u; id -g; id -G'], { uid: 1234, gid: 5678 });
    assert.equal(r.stdout.toString(), '1234\n5678\n5678\n');
  });

  it('round-trips stdin through to EOF', async () => {
    const input = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7) % 256;
    const r = await c.run(['cat'], { input, maxOutputBytes: input.length });
    assert.ok(r.stdout.equals(input));
    const wc = await c.run(['wc', '-c'], { input: 'abc' });
    assert.equal(wc.stdout.toString().trim(), '3');
  });

  it('gives a pty: the program sees a terminal of the asked size and gets resizes', async () => {
    const t = await c.run(['sh', '-c', 'test -t 0 && test -t 1 && stty size'], { pty: { rows: 33, cols: 101 } });
    assert.equal(t.exitCode, 0);
    assert.equal(t.stdout.toString().trim(), '33 101');
    const script = 'trap \'stty size; exit 0\' WINCH; echo ready; while :; do sleep 0.02; done';
    const h = c.exec({ argv: ['sh', '-c', script], pty: { rows: 24, cols: 80 } });
    let text = '';
    let resized = false;
    for await (const chunk of h) {
      text += chunk.data.toString();
      if (!resized && text.includes('ready')) {
        h.resize({ rows: 50, cols: 132 });
        resized = true;
      }
    }
    assert.match(text, /50 132/);
    assert.equal((await h.wait()).exitCode, 0);
  });

  it('feeds stdin to a pty program', async () => {
    const h = c.exec({ argv: ['sh', '-c', 'read line; echo "got $line"'], pty: true });
    await h.started;
    await h.write('hello\n');
    let text = '';
    for await (const chunk of h) text += chunk.data.toString();
    assert.match(text, /got hello/);
  });

  it('a timeout kills the whole process group, a background grandchild too', async () => {
    const start = performance.now();
    const h = c.exec({ argv: ['sh', '-c', 'sleep 300 & echo $!; sleep 300'], timeoutMs: 300 });
    let text = '';
    for await (const chunk of h) text += chunk.data.toString();
    const exit = await h.wait();
    assert.deepEqual([exit.timedOut, exit.signal], [true, 'SIGKILL']);
    assert.ok(performance.now() - start < 5000);
    const grandchild = Number(text.trim());
    assert.ok(grandchild > 1);
    // The agent is PID 1 and reaps the orphan; give it a moment, then the pid must be gone.
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      alive = (await c.run(['sh', '-c', `test -d /proc/${grandchild}`])).exitCode === 0;
      if (alive) await sleep(20);
    }
    assert.equal(alive, false, `grandchild ${grandchild} survived the timeout`);
  });

  it('runs 100 processes concurrently', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => c.run(['sh', '-c', 'sleep 0.1; echo $0', String(i)])),
    );
    results.forEach((r, i) => assert.equal(r.stdout.toString(), `${i}\n`));
  });

  it('ps lists running and exited processes', async () => {
    const h = c.exec({ argv: ['sleep', '30'] });
    const { procId } = await h.started;
    const running = (await c.ps()).find((p) => p.procId === procId);
    assert.deepEqual([running?.state, running?.argv], ['running', ['sleep', '30']]);
    h.signal('SIGKILL');
    await h.wait();
    const exited = (await c.ps()).find((p) => p.procId === procId);
    assert.deepEqual([exited?.state, exited?.signal, exited?.exitCode], ['exited', 'SIGKILL', null]);
  });
});
