import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShedError } from '../../core/errors.js';
import { entryParts, printable, whiteoutOf } from './entry-path.js';

const limits = { maxPathDepth: 8, maxNameBytes: 64 };
const refused = (name: string, re: RegExp) =>
  assert.throws(() => entryParts(name, limits, 'entry'), (e: unknown) => e instanceof ShedError && e.code === 'invalid_argument' && re.test(e.message));

describe('entryParts', () => {
  it('normalises ./, repeated and trailing slashes', () => {
    assert.deepEqual(entryParts('./a//b/./c/', limits, 'entry'), ['a', 'b', 'c']);
    assert.deepEqual(entryParts('./', limits, 'entry'), []);
    assert.deepEqual(entryParts('.', limits, 'entry'), []);
  });

  it('refuses absolute names, .. components and NUL bytes', () => {
    refused('/etc/passwd', /absolute/);
    refused('../x', /'\.\.'/);
    refused('a/../../x', /'\.\.'/);
    refused('a/..', /'\.\.'/);
    refused('a\0b', /NUL/);
  });

  it('refuses deep paths, long names and long components', () => {
    refused('a/'.repeat(9) + 'f', /10 path components/);
    refused('x'.repeat(65), /longer than 64 bytes/);
    assert.throws(() => entryParts('y'.repeat(256), { maxPathDepth: 8, maxNameBytes: 4096 }, 'entry'), /longer than 255 bytes/);
  });

  it('keeps names that merely contain dots', () => {
    assert.deepEqual(entryParts('a/..b/c..', limits, 'entry'), ['a', '..b', 'c..']);
  });
});

describe('whiteoutOf', () => {
  it('classifies whiteouts, opaque markers and AUFS bookkeeping', () => {
    assert.equal(whiteoutOf('file'), null);
    assert.deepEqual(whiteoutOf('.wh.file'), { kind: 'remove', name: 'file' });
    assert.deepEqual(whiteoutOf('.wh..wh..opq'), { kind: 'opaque' });
    assert.deepEqual(whiteoutOf('.wh..wh.plnk'), { kind: 'meta' });
    assert.deepEqual(whiteoutOf('.wh.'), { kind: 'meta' });
  });
});

describe('printable', () => {
  it('escapes control characters for error messages', () => {
    assert.equal(printable('a\nb\x1b'), 'a\\x0ab\\x1b');
  });
});
