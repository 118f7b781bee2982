import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findMirror, parseDeb822, parseSourcesList } from './apt-sources.js';

describe('apt sources', () => {
  it('parses one-line and deb822 sources', () => {
    assert.deepEqual(parseSourcesList('# c\ndeb [arch=amd64] http://m/debian bookworm main\ndeb-src http://x y z\n'), [{ uri: 'http://m/debian', suites: ['bookworm'] }]);
    const deb822 = 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb-src\nURIs: http://src\nSuites: bookworm\n';
    assert.deepEqual(parseDeb822(deb822), [{ uri: 'http://deb.debian.org/debian', suites: ['bookworm', 'bookworm-updates'] }]);
  });

  it('finds the first mirror serving the suite itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shed-apt-'));
    try {
      await mkdir(join(dir, 'sources.list.d'));
      await writeFile(join(dir, 'sources.list'), 'deb http://security/debian-security bookworm-security main\n');
      await writeFile(join(dir, 'sources.list.d', 'debian.sources'), 'Types: deb\nURIs: http://mirror/debian\nSuites: bookworm\n');
      assert.equal(await findMirror('bookworm', dir), 'http://mirror/debian');
      assert.equal(await findMirror('trixie', dir), undefined);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
