import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { upstreamPath } from './port-proxy.js';

describe('upstreamPath', () => {
  it('is what follows /v1/sandboxes/:sandbox/ports/:port, query included', () => {
    assert.deepEqual(upstreamPath('/v1/sandboxes/sb-1/ports/8000/a/b?x=1&y'), { prefix: '/v1/sandboxes/sb-1/ports/8000', path: '/a/b?x=1&y' });
    assert.deepEqual(upstreamPath('/v1/sandboxes/web/ports/80'), { prefix: '/v1/sandboxes/web/ports/80', path: '/' });
    assert.deepEqual(upstreamPath('/v1/sandboxes/web/ports/80?q'), { prefix: '/v1/sandboxes/web/ports/80', path: '/?q' });
    // Encoded characters stay encoded: the sandbox server decodes its own path.
    assert.deepEqual(upstreamPath('/v1/sandboxes/web/ports/80/%2e%2e/x%20y'), { prefix: '/v1/sandboxes/web/ports/80', path: '/%2e%2e/x%20y' });
  });
});
