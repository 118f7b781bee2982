import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { AgentPort } from './agent-port.js';
import type { Driver, DriverHandles, Liveness, RunningSandbox } from './driver.js';
import { newSandboxId, type ImageDigest, type SandboxId } from './ids.js';
import { LiveSandbox } from './live-sandbox.js';
import { recheckSandbox, type RecheckContext } from './recheck.js';
import type { SandboxPatch, SandboxRecord } from './sandboxes.js';

// The driver, store and agent are fakes; test/e2e/lifecycle.test.ts kills a real sandbox's init.

const DIGEST = `sha256:${'a'.repeat(64)}` as ImageDigest; // Brand cast: a well-formed digest literal.

function setup(verdicts: Liveness[], adopt: RunningSandbox | null = null) {
  const id = newSandboxId();
  let row: SandboxRecord = {
    id, name: 'x', imageDigest: DIGEST, driver: 'fake', state: 'running', stateReason: null, lastError: null, timings: {},
    createdAt: 0, updatedAt: 0, lastActiveAt: 0,
    spec: { image: 'default', hostname: 'h', resources: { memoryMiB: 1, cpuMillis: 1, pidsMax: 1 }, network: 'none', env: {}, labels: {} },
  };
  const calls: string[] = [];
  const link = new AbortController();
  const agent = { signal: link.signal, close: async () => void calls.push('close link') } as unknown as AgentPort; // Only the calls recheck makes.
  const handles: DriverHandles = { driver: 'fake', id, data: {} };
  const live = new Map<SandboxId, LiveSandbox>([[id, new LiveSandbox(handles, agent, { env: {}, cwd: '/' })]]);
  const driver = {
    liveness: async () => verdicts.shift() ?? { alive: true },
    adopt: async () => { calls.push('adopt'); return adopt; },
    stop: async () => void calls.push('driver stop'),
  } as unknown as Driver; // Only the calls recheck makes.
  const ctx: RecheckContext = {
    driver, log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    store: {
      sandboxes: {
        get: () => row,
        update: (_id: SandboxId, p: SandboxPatch) => (row = { ...row, ...p }),
      },
    } as unknown as RecheckContext['store'], // Only get and update are used.
    events: { publish: (type, _s, details) => void calls.push(`event ${type} ${JSON.stringify(details)}`) },
    live,
    savedHandles: async () => handles,
    relinked: async () => void calls.push('relinked'),
  };
  return { id, ctx, calls, link, live, row: () => row };
}

describe('recheckSandbox', () => {
  it('leaves a live, linked sandbox alone', async () => {
    const t = setup([{ alive: true }]);
    assert.deepEqual(await recheckSandbox(t.ctx, t.id, 'test'), { alive: true });
    assert.deepEqual(t.calls, []);
    assert.equal(t.row().state, 'running');
  });

  it('a gone one: link closed, kernel state released, stopped with the reason and where it was found, died published', async () => {
    const t = setup([{ alive: false, reason: 'its init exited' }]);
    await recheckSandbox(t.ctx, t.id, 'found by a test');
    assert.deepEqual(t.calls, ['close link', 'driver stop', 'event died {"reason":"its init exited (found by a test)"}']);
    assert.deepEqual([t.row().state, t.row().stateReason], ['stopped', 'its init exited (found by a test)']);
    assert.equal(t.live.size, 0);
  });

  it('alive with its link dropped: adopted again', async () => {
    const t = setup([{ alive: true }], { handles: { driver: 'fake', id: newSandboxId(), data: {} }, agent: {} as never });
    t.link.abort();
    assert.deepEqual(await recheckSandbox(t.ctx, t.id, 'test'), { alive: true });
    assert.deepEqual(t.calls, ['adopt', 'close link', 'relinked']);
    assert.equal(t.row().state, 'running');
  });

  it('a death under way when the link dropped is named by the second look', async () => {
    const t = setup([{ alive: true }, { alive: false, reason: 'its init exited' }]);
    t.link.abort();
    await recheckSandbox(t.ctx, t.id, 'found when its agent link dropped');
    assert.equal(t.row().stateReason, 'its init exited (found when its agent link dropped)');
  });

  it('a stopped sandbox is not checked', async () => {
    const t = setup([{ alive: false, reason: 'x' }]);
    t.ctx.store.sandboxes.update(t.id, { state: 'stopped' });
    await recheckSandbox(t.ctx, t.id, 'test');
    assert.deepEqual(t.calls, []);
  });
});
