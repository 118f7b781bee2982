import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ShedError } from './errors.js';
import { sandboxPath } from './sandbox-paths.js';

const invalid = (e: unknown) => e instanceof ShedError && e.code === 'invalid_argument';

describe('sandboxPath', () => {
  it('normalises slashes and . segments', () => {
    assert.equal(sandboxPath('/a//b/./c/'), '/a/b/c');
    assert.equal(sandboxPath('/'), '/');
  });

  it('refuses relative paths, .. segments, NUL and empty paths', () => {
    for (const p of ['a/b', '../etc', '/a/../../etc/passwd', '/a/..', '/a\0b', '']) assert.throws(() => sandboxPath(p), invalid, p);
  });
});
