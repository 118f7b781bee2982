import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShedError } from '../errors.js';
import { buildPoolSpec, capacityOf } from './pool-spec.js';

const invalid = (fn: () => unknown, pattern: RegExp): void =>
  assert.throws(fn, (e: unknown) => e instanceof ShedError && e.code === 'invalid_argument' && pattern.test(e.message));

describe('buildPoolSpec', () => {
  it('fills in defaults: one free member, max 4, a budget of max members', () => {
    const s = buildPoolSpec('py', { image: 'default' });
    assert.deepEqual(s, {
      name: 'py', source: { image: 'default' }, profile: { memoryMiB: 512, cpuMillis: 1000, pidsMax: 512, network: 'none' },
      min: 0, targetFree: 1, max: 4, memoryBudgetMiB: 2048,
    });
    assert.equal(capacityOf(s), 4);
  });

  it('caps capacity by the memory budget', () => {
    assert.equal(capacityOf(buildPoolSpec('p', { image: 'default', memoryMiB: 256, max: 8, targetFree: 4, memoryBudgetMiB: 600 })), 2);
  });

  it('refuses bad counts, a budget below min, and a source that is not exactly one', () => {
    invalid(() => buildPoolSpec('p', { image: 'default', min: 3, max: 2 }), /min \(3\) is more than max \(2\)/);
    invalid(() => buildPoolSpec('p', { image: 'default', targetFree: 5, max: 4 }), /targetFree \(5\) must be from min/);
    invalid(() => buildPoolSpec('p', { image: 'default', min: 2, memoryMiB: 256, memoryBudgetMiB: 300 }), /too small for min 2 members of 256 MiB; raise it to at least 512/);
    invalid(() => buildPoolSpec('p', {}), /exactly one of image and snapshot/);
    invalid(() => buildPoolSpec('p', { image: 'default', snapshot: 'ly-0123456789abcdef' }), /exactly one/);
    invalid(() => buildPoolSpec('p', { snapshot: 'nope' }), /not a snapshot id/);
    invalid(() => buildPoolSpec('sb-x', { image: 'default' }), /pool name/);
    invalid(() => buildPoolSpec('p', { image: 'default', max: 65 }), /max must be a whole number from 0 to 64/);
    invalid(() => buildPoolSpec('p', { image: 'default', memoryMiB: 1 }), /memoryMiB must be/);
  });
});
