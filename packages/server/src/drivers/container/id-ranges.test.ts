import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { overlaps, parseIdFile, parseSubIds } from './id-ranges.js';

describe('id ranges', () => {
  const map = { hostId: 100_000, size: 65_536 };

  it('parses subuid lines, skipping comments and junk', () => {
    assert.deepEqual(parseSubIds('# c\nalice:100000:65536\nbad line\nbob:300000:10\n'), [
      { owner: 'alice', start: 100_000, count: 65_536 }, { owner: 'bob', start: 300_000, count: 10 },
    ]);
  });

  it('parses passwd entries as one-id ranges', () => {
    assert.deepEqual(parseIdFile('root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n'), [
      { owner: 'root', start: 0, count: 1 }, { owner: 'nobody', start: 65_534, count: 1 },
    ]);
  });

  it('finds overlaps at both edges and none just outside', () => {
    assert.equal(overlaps({ owner: 'a', start: 99_999, count: 1 }, map), false);
    assert.equal(overlaps({ owner: 'a', start: 99_999, count: 2 }, map), true);
    assert.equal(overlaps({ owner: 'a', start: 165_535, count: 1 }, map), true);
    assert.equal(overlaps({ owner: 'a', start: 165_536, count: 100 }, map), false);
  });
});
