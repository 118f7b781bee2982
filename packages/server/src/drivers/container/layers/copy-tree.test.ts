import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, openSync, closeSync, ftruncateSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { countAllocatedSync } from './copy-tree.js';

describe('countAllocatedSync', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shed-count-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('counts what du -sx -B1 counts: blocks, holes nothing, hardlinks once', () => {
    mkdirSync(join(dir, 'a/b'), { recursive: true });
    writeFileSync(join(dir, 'a/b/data'), Buffer.alloc(300_000, 7));
    linkSync(join(dir, 'a/b/data'), join(dir, 'a/link'));
    symlinkSync('/etc/passwd', join(dir, 'a/sym'));
    const fd = openSync(join(dir, 'sparse'), 'w');
    writeSync(fd, Buffer.alloc(4096, 1), 0, 4096, 8 << 20);
    ftruncateSync(fd, 16 << 20);
    closeSync(fd);
    const du = Number(/^(\d+)/.exec(execFileSync('du', ['-s', '-x', '-B1', dir], { encoding: 'utf8' }))?.[1]);
    assert.equal(countAllocatedSync(dir, 100), du);
  });

  it('gives up (null) past its entry limit, for du to count', () => {
    assert.equal(countAllocatedSync(dir, 2), null);
  });
});
