import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ShedError } from './errors.js';
import { newSandboxId, type ImageDigest, type SandboxId } from './ids.js';
import { LifecycleScheduler, type ScheduledService } from './scheduler.js';
import type { SandboxRecord, SandboxSpec } from './sandboxes.js';
import type { SandboxState } from './state.js';

const DIGEST = `sha256:${'a'.repeat(64)}` as ImageDigest; // Brand cast: a well-formed digest literal.
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function rec(state: SandboxState, expiry: Pick<SandboxSpec, 'ttlSeconds' | 'idleTimeoutSeconds' | 'onExpire'>): SandboxRecord {
  return {
    id: newSandboxId(), name: null, imageDigest: DIGEST, driver: 'fake', state, stateReason: null, lastError: null, timings: {},
    createdAt: 0, updatedAt: 0, lastActiveAt: 0,
    spec: { image: 'default', hostname: 'h', resources: { memoryMiB: 1, cpuMillis: 1, pidsMax: 1 }, network: 'none', env: {}, labels: {}, ...expiry },
  };
}

/** A service over fixed records that logs what the scheduler asks of it. */
function fakeService(records: SandboxRecord[], busy: ReadonlySet<SandboxId> = new Set()): ScheduledService & { calls: string[] } {
  const calls: string[] = [];
  const svc = {
    calls,
    list: () => records,
    get: () => { throw new Error('not used'); },
    stop: async (id: string, o?: { reason?: string }) => { calls.push(`stop ${id} ${o?.reason ?? ''}`); return records[0]; },
    delete: async (id: string, o?: { reason?: string }) => { calls.push(`delete ${id} ${o?.reason ?? ''}`); },
    checkSandbox: async (id: SandboxId) => { calls.push(`check ${id}`); return { alive: true as const }; },
    prune: async () => ({ swept: [], images: null }),
    workloadProcesses: async (id: SandboxId) => (busy.has(id) ? 2 : 0),
    lastActiveAt: (r: SandboxRecord) => r.lastActiveAt ?? r.createdAt,
    touch: (id: SandboxId) => void calls.push(`touch ${id}`),
  };
  return svc as unknown as ScheduledService & { calls: string[] }; // The fake implements the calls the scheduler makes.
}

describe('LifecycleScheduler', () => {
  it('deletes on TTL and stops on idle, with the reason; a busy sandbox counts as active instead', async () => {
    const ttl = rec('running', { ttlSeconds: 1 });
    const idle = rec('running', { idleTimeoutSeconds: 1 });
    const busy = rec('running', { idleTimeoutSeconds: 1 });
    const fresh = rec('running', { ttlSeconds: 100 });
    const svc = fakeService([ttl, idle, busy, fresh], new Set([busy.id]));
    const s = new LifecycleScheduler(svc, quiet, { expiryCheckMs: 3_600_000, livenessCheckMs: 3_600_000, sweepIntervalMs: 0 });
    await s.expireDue(5000);
    await s.close();
    assert.deepEqual(svc.calls.sort(), [
      `delete ${ttl.id} expired: its TTL of 1s ended`,
      `stop ${idle.id} expired: idle for 1s (no API activity and no process but PID 1)`,
      `touch ${busy.id}`,
    ].sort());
  });

  it('checks the liveness of every sandbox that should be running, and only those', async () => {
    const running = rec('running', {});
    const stopped = rec('stopped', {});
    const svc = fakeService([running, stopped]);
    const s = new LifecycleScheduler(svc, quiet, { expiryCheckMs: 3_600_000, livenessCheckMs: 3_600_000, sweepIntervalMs: 0 });
    await s.checkLiveness();
    await s.close();
    assert.deepEqual(svc.calls, [`check ${running.id}`]);
  });

  it('a sandbox deleted meanwhile is not an error; the timers run the jobs until closed', async () => {
    const gone = rec('running', { ttlSeconds: 1 });
    const svc = fakeService([gone]);
    svc.delete = async (id) => { svc.calls.push(`delete ${id}`); throw new ShedError('not_found', 'gone'); };
    const errors: string[] = [];
    const s = new LifecycleScheduler(svc, { ...quiet, error: (_o, m) => void errors.push(m) }, { expiryCheckMs: 5, livenessCheckMs: 5, sweepIntervalMs: 0 });
    // Until both jobs have had a few turns (timers fire late on a loaded host: wait for the turns, not a time).
    const turns = (what: string): number => svc.calls.filter((c) => c.startsWith(what)).length;
    for (const deadline = Date.now() + 10_000; (turns('check') < 2 || turns('delete') < 2) && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await s.close();
    assert.deepEqual(errors, []);
    assert.ok(turns('check') >= 2, 'the liveness job ran more than once');
    assert.ok(turns('delete') >= 2, 'the expiry job ran more than once, trying the delete each time');
  });
});
