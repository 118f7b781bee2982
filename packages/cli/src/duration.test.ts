import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatSeconds } from '@shed/sdk';
import { parseDurationSeconds } from './duration.js';
import { UsageError } from './output.js';

describe('durations', () => {
  it('parses seconds, units and combinations', () => {
    assert.deepEqual(['90', '90s', '10m', '1h30m', '2d'].map((t) => parseDurationSeconds(t, '--ttl')), [90, 90, 600, 5400, 172_800]);
  });

  it('rejects what is not a duration, saying how to write one', () => {
    for (const bad of ['', '10x', '-5', '1.5m', 'm', '0s']) {
      assert.throws(() => parseDurationSeconds(bad, '--ttl'), (e: unknown) => e instanceof UsageError && /--ttl/.test(e.message), bad);
    }
  });

  it('formats seconds the way the flags take them', () => {
    assert.deepEqual([0, 59, 600, 5400, 90_061].map(formatSeconds), ['0s', '59s', '10m', '1h30m', '1d1h1m1s']);
  });
});
