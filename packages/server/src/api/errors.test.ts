import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ERROR_CODES, ShedError } from '../core/errors.js';
import { errorBody, httpStatus, toShedError } from './errors.js';

describe('error mapping', () => {
  it('maps every code to its one status', () => {
    const statuses = Object.fromEntries(ERROR_CODES.map((c) => [c, httpStatus(c)]));
    assert.deepEqual(statuses, {
      not_found: 404, already_exists: 409, invalid_argument: 400, failed_precondition: 412,
      resource_exhausted: 429, unauthenticated: 401, unimplemented: 501, unavailable: 503, internal: 500,
    });
  });

  it('keeps a ShedError and renders the {error: {code, message, details}} body', () => {
    const e = new ShedError('not_found', 'gone', { details: { sandbox: 'x' } });
    assert.equal(toShedError(e), e);
    assert.deepEqual(errorBody(e), { error: { code: 'not_found', message: 'gone', details: { sandbox: 'x' } } });
  });

  it('turns schema failures into invalid_argument naming the unknown field', () => {
    const err = Object.assign(new Error('body/ must NOT have additional properties'), {
      code: 'FST_ERR_VALIDATION', statusCode: 400, validationContext: 'body',
      validation: [{ instancePath: '', message: 'must NOT have additional properties', params: { additionalProperty: 'bogus' } }],
    });
    const e = toShedError(err);
    assert.equal(e.code, 'invalid_argument');
    assert.match(e.message, /'bogus'/);
  });

  it('turns anything else into internal', () => {
    assert.equal(toShedError(new TypeError('x')).code, 'internal');
  });
});
