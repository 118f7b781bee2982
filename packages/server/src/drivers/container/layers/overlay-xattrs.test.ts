import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGetfattr } from './overlay-xattrs.js';

describe('parseGetfattr', () => {
  it('finds opaque directories, decoding escaped names, and ignores other xattrs', () => {
    const out = [
      '# file: /l/usr',
      'trusted.overlay.opaque="y"',
      '',
      '# file: /l/a\\012b',
      'user.overlay.opaque="y"',
      '',
      '# file: /l/x',
      'trusted.overlay.opaque="n"',
      '',
      '# file: /l/caf\\303\\251',
      'trusted.overlay.opaque="y"',
      '',
    ].join('\n');
    assert.deepEqual([...parseGetfattr(out, '/l')].sort(), ['a\nb', 'café', 'usr']);
  });

  it('refuses a path outside the layer', () => {
    assert.throws(() => parseGetfattr('# file: /elsewhere\ntrusted.overlay.opaque="y"\n', '/l'), /outside/);
  });
});
