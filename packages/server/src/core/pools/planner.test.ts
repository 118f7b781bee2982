import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SandboxId } from '../ids.js';
import { backoffMs, planNext, type PoolView } from './planner.js';

const view = (over: Partial<PoolView> & { name: string }): PoolView => ({
  min: 0, targetFree: 2, capacity: 4, free: 0, making: 0, retire: [], retryAt: 0, ...over,
});
const id = (n: number): SandboxId => `sb-00000000000${n}` as SandboxId; // a well-formed id for the planner, which only passes it on

describe('planNext', () => {
  it('retires before it creates', () => {
    assert.deepEqual(planNext([view({ name: 'a' }), view({ name: 'b', retire: [id(1)] })], 0), { kind: 'retire', pool: 'b', id: id(1) });
  });

  it('creates for a pool below target, counting members being made', () => {
    assert.deepEqual(planNext([view({ name: 'a', free: 1 })], 0), { kind: 'create', pool: 'a' });
    assert.deepEqual(planNext([view({ name: 'a', free: 1, making: 1 })], 0), { kind: 'idle' });
    assert.deepEqual(planNext([view({ name: 'a', free: 2 })], 0), { kind: 'idle' });
  });

  it('never goes past capacity (max and the memory budget)', () => {
    assert.deepEqual(planNext([view({ name: 'a', targetFree: 4, capacity: 2, free: 2 })], 0), { kind: 'idle' });
    assert.deepEqual(planNext([view({ name: 'a', targetFree: 4, capacity: 0 })], 0), { kind: 'idle' });
  });

  it('serves pools below min first, then the one furthest from target', () => {
    const pools = [view({ name: 'far', targetFree: 8, capacity: 8 }), view({ name: 'low', min: 1, targetFree: 1 })];
    assert.deepEqual(planNext(pools, 0), { kind: 'create', pool: 'low' });
    assert.deepEqual(planNext([view({ name: 'near', free: 1 }), view({ name: 'far', targetFree: 4 })], 0), { kind: 'create', pool: 'far' });
  });

  it('skips a pool that is backing off and wakes when its back-off ends', () => {
    assert.deepEqual(planNext([view({ name: 'a', retryAt: 5000 })], 1000), { kind: 'idle', wakeAt: 5000 });
    assert.deepEqual(planNext([view({ name: 'a', retryAt: 5000 }), view({ name: 'b' })], 1000), { kind: 'create', pool: 'b' });
    assert.deepEqual(planNext([view({ name: 'a', retryAt: 5000 })], 5000), { kind: 'create', pool: 'a' });
  });

  it('backs off 1 s, doubling, capped at a minute', () => {
    assert.deepEqual([0, 1, 2, 3, 10].map(backoffMs), [0, 1000, 2000, 4000, 60_000]);
  });
});
