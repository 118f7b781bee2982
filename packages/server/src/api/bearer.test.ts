import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { BearerCheck } from './bearer.js';

describe('bearer check', () => {
  const check = new BearerCheck('s3cret-token-0123456789');

  it('accepts the token, with the scheme in any case', () => {
    assert.equal(check.matches('Bearer s3cret-token-0123456789'), true);
    assert.equal(check.matches('bearer s3cret-token-0123456789'), true);
  });

  it('rejects a wrong, truncated, longer or missing token and other schemes', () => {
    for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Bearer s3cret-token-012345678', 'Bearer s3cret-token-01234567890',
      'Basic s3cret-token-0123456789', 's3cret-token-0123456789', 'Bearer s3cret-token-0123456789 extra']) {
      assert.equal(check.matches(h), false, String(h));
    }
  });
});
