// Output streaming through the real agent: bounded memory on both sides for a 1 GiB stream,
// EXIT strictly after output, and reattaching after a dropped connection.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AgentClient, ExecHandle } from '@shed/protocol';
import { agentUnavailable, startAgent, type RunningAgent } from '../helpers/agent.js';
import { assertNoLeaks } from '../helpers/leaks.js';
import { rssBytes } from '../helpers/procs.js';

const skip = await agentUnavailable();
const MiB = 1024 * 1024;
let agent: RunningAgent;
let c: AgentClient;

/** `seq 1 n` as the agent's process prints it. */
function seqText(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => `${i + 1}\n`).join(''));
}

describe('output streaming through the agent', { skip }, () => {
  before(async () => {
    agent = await startAgent();
    c = agent.client;
  });
  after(async () => {
    await agent?.stop();
    await assertNoLeaks();
  });

  it('streams 1 GiB of stdout with bounded memory on both sides', async () => {
    const total = 1024 * MiB;
    globalThis.gc?.();
    const hostBase = process.memoryUsage.rss();
    let agentPeak = 0;
    let hostPeak = 0;
    const sample = async (): Promise<void> => {
      agentPeak = Math.max(agentPeak, (await rssBytes(agent.agentPid)) ?? 0);
      hostPeak = Math.max(hostPeak, process.memoryUsage.rss() - hostBase);
    };
    const timer = setInterval(() => void sample(), 50);
    const start = performance.now();
    const h = c.exec({ argv: ['head', '-c', String(total), '/dev/zero'] });
    let received = 0;
    let nonZero = 0;
    for await (const chunk of h) {
      received += chunk.data.byteLength;
      if (chunk.data[0] !== 0 || chunk.data[chunk.data.byteLength - 1] !== 0) nonZero++;
    }
    clearInterval(timer);
    await sample();
    const exit = await h.wait();
    const s = (performance.now() - start) / 1000;
    console.log(`1 GiB in ${s.toFixed(2)} s (${(1024 / s).toFixed(0)} MiB/s); agent RSS peak ${(agentPeak / MiB).toFixed(1)} MiB, host RSS growth ${(hostPeak / MiB).toFixed(1)} MiB`);
    assert.deepEqual([received, exit.outputBytes, exit.exitCode, nonZero], [total, total, 0, 0]);
    assert.ok(agentPeak > 0 && agentPeak < 16 * MiB, `agent RSS ${agentPeak}`);
    assert.ok(hostPeak < 64 * MiB, `host RSS growth ${hostPeak}`);
  });

  it('never sends EXIT before all output: 1000 fast exits writing 64 KiB', async () => {
    const line = '0123456789abcde\n';
    const expected = Buffer.from(line.repeat(65_536 / line.length));
    const one = async (): Promise<void> => {
      const h = c.exec({ argv: ['sh', '-c', `yes ${line.trim()} | head -c 65536`] });
      const exit = await h.wait();
      // EXIT has been handled: whatever output came before it is already queued here.
      const chunks: Buffer[] = [];
      for await (const chunk of h) chunks.push(chunk.data);
      const out = Buffer.concat(chunks);
      assert.equal(exit.outputBytes, 65_536);
      assert.equal(out.length, 65_536);
      assert.ok(out.equals(expected));
    };
    const lanes = 4;
    await Promise.all(Array.from({ length: lanes }, async () => {
      for (let i = 0; i < 1000 / lanes; i++) await one();
    }));
  });

  it('reattaches after a dropped connection without losing or repeating a byte', async () => {
    const n = 1_000_000;
    const expected = seqText(n);
    const first = agent.client;
    const h = first.exec({ argv: ['seq', '1', String(n)] });
    const { procId } = await h.started;
    const got: Buffer[] = [];
    let offset = 0;
    const it = h[Symbol.asyncIterator]();
    while (offset < MiB) {
      const r = await it.next();
      if (r.done === true) assert.fail('the output ended before 1 MiB');
      assert.equal(r.value.offset, offset);
      got.push(Buffer.from(r.value.data));
      offset += r.value.data.byteLength;
    }
    await first.close();
    await assert.rejects(h.wait(), { code: 'unavailable' });
    const second = await agent.listener.accept({ signal: AbortSignal.timeout(5000) });
    c = second;
    assert.equal(second.ready.bootId, first.ready.bootId, 'the same agent reconnected');
    const h2 = second.attach(procId, { offset });
    assert.equal((await h2.started).offset, offset);
    for await (const chunk of h2) {
      assert.equal(chunk.offset, offset);
      got.push(chunk.data);
      offset += chunk.data.byteLength;
    }
    const exit = await h2.wait();
    assert.equal(exit.outputBytes, expected.length);
    assert.ok(Buffer.concat(got).equals(expected));
  });

  it('a second attach takes the process over; the first stream gets EBUSY', async () => {
    const h = c.exec({ argv: ['sh', '-c', 'echo one; sleep 30'] });
    const { procId } = await h.started;
    const h2: ExecHandle = c.attach(procId, { offset: 0 });
    await h2.started;
    await assert.rejects(h.wait(), { errno: 'EBUSY' });
    const it = h2[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.data.toString(), 'one\n');
    h2.signal('SIGKILL');
    assert.equal((await h2.wait()).signal, 'SIGKILL');
  });

  it('attach rejects offsets outside the buffer and unknown processes', async () => {
    await assert.rejects(c.attach(999_999).wait(), { errno: 'ESRCH', code: 'not_found' });
    const done = c.exec({ argv: ['echo', 'hi'] });
    const { procId } = await done.started;
    for await (const _ of done) { /* drain */ }
    await done.wait();
    await assert.rejects(c.attach(procId, { offset: 100 }).wait(), { errno: 'EINVAL' });
    const again = c.attach(procId, { offset: 0 });
    let text = '';
    for await (const chunk of again) text += chunk.data.toString();
    assert.equal(text, 'hi\n');
  });
});
