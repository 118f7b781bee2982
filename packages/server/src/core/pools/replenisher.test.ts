import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShedError } from '../errors.js';
import type { SandboxId } from '../ids.js';
import { CreateGate } from './gate.js';
import { backoffMs } from './planner.js';
import { Replenisher, type ReplenisherSeam } from './replenisher.js';

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('Replenisher', () => {
  it('fills a pool to its target one create at a time, and refills after a claim', async () => {
    const f = seam();
    const r = new Replenisher(f, { tickMs: 5 });
    r.start();
    await until(() => f.free === 2, 'two free members');
    f.free--; // a claim
    r.wake();
    await until(() => f.free === 2, 'the refill');
    await r.close();
    assert.equal(f.maxConcurrent, 1);
    assert.equal(f.creates, 3);
  });

  it('waits while user creates are in flight', async () => {
    const f = seam();
    const leave = f.gate.enter();
    const r = new Replenisher(f, { tickMs: 5 });
    r.start();
    await new Promise((res) => setTimeout(res, 30));
    assert.equal(f.creates, 0, 'nothing made while a user create runs');
    leave();
    await until(() => f.free === 2, 'the fill after the user create');
    await r.close();
    assert.ok(f.userInFlightAtCreate.every((n) => n === 0));
  });

  it('backs off after a failure and then recovers', async () => {
    const f = seam();
    f.failNext = 1;
    const r = new Replenisher(f, { tickMs: 5 });
    r.start();
    await until(() => f.failures === 1, 'the failure');
    await new Promise((res) => setTimeout(res, 30));
    assert.equal(f.free, 0, 'no retry during the back-off');
    f.clock += backoffMs(1);
    r.wake();
    await until(() => f.free === 2, 'the recovery');
    await r.close();
    assert.equal(f.errors.length, 1);
  });

  it('retires members before making new ones and stops at capacity', async () => {
    const f = seam();
    f.capacity = 1;
    f.retire = ['sb-000000000001' as SandboxId]; // a well-formed id; the loop only passes it on
    const r = new Replenisher(f, { tickMs: 5 });
    r.start();
    await until(() => f.free === 1, 'one member');
    await new Promise((res) => setTimeout(res, 20));
    await r.close();
    assert.deepEqual(f.steps, ['retire sb-000000000001', 'create']);
    assert.equal(f.free, 1, 'capacity 1 holds one member even with targetFree 2');
  });
});

interface Seam extends ReplenisherSeam {
  readonly gate: CreateGate;
  free: number;
  creates: number;
  failNext: number;
  failures: number;
  clock: number;
  capacity: number;
  retire: SandboxId[];
  maxConcurrent: number;
  readonly steps: string[];
  readonly errors: string[];
  readonly userInFlightAtCreate: number[];
}

function seam(): Seam {
  let making = 0;
  let retryAt = 0;
  const s: Seam = {
    gate: new CreateGate(), free: 0, creates: 0, failNext: 0, failures: 0, clock: 0, capacity: 3, retire: [], maxConcurrent: 0,
    steps: [], errors: [], userInFlightAtCreate: [],
    views: () => [{ name: 'p', min: 1, targetFree: 2, capacity: s.capacity, free: s.free, making, retire: [...s.retire], retryAt }],
    createMember: async () => {
      making++;
      s.creates++;
      s.steps.push('create');
      s.userInFlightAtCreate.push(s.gate.inFlight);
      s.maxConcurrent = Math.max(s.maxConcurrent, making);
      await new Promise((r) => setTimeout(r, 2));
      making--;
      if (s.failNext > 0) {
        s.failNext--;
        s.failures++;
        retryAt = s.clock + backoffMs(s.failures);
        throw new ShedError('unavailable', 'the runtime is busy');
      }
      s.free++;
    },
    retireMember: async (_pool, id) => {
      s.retire = s.retire.filter((r) => r !== id);
      s.steps.push(`retire ${id}`);
    },
    userCreatesIdle: () => s.gate.idle(),
    now: () => s.clock,
    log: (msg) => void s.errors.push(msg),
  };
  return s;
}
