import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { endpointOf } from './shed.js';

describe('Shed.connect endpoint', () => {
  it('prefers an explicit socket, then an explicit URL, then $SHED_HOST, then $SHED_SOCKET, then the default', () => {
    const env = { SHED_HOST: '10.0.0.1:7420', SHED_TOKEN: 'env-token', SHED_SOCKET: '/env.sock' };
    assert.deepEqual(endpointOf({ socketPath: '/x.sock' }, env), { socketPath: '/x.sock' });
    assert.deepEqual(endpointOf({ url: 'https://h:1', token: 't' }, env), { url: 'https://h:1', token: 't' });
    assert.deepEqual(endpointOf({}, env), { url: 'http://10.0.0.1:7420', token: 'env-token' });
    assert.deepEqual(endpointOf({}, { SHED_SOCKET: '/env.sock' }), { socketPath: '/env.sock' });
    assert.deepEqual(endpointOf({}, { SHED_HOST: '', SHED_SOCKET: '' }), { socketPath: '/run/shed/shed.sock' });
  });

  it('takes the token from $SHED_TOKEN unless given, and none when neither', () => {
    assert.deepEqual(endpointOf({ url: 'http://h:1' }, { SHED_TOKEN: 'e' }), { url: 'http://h:1', token: 'e' });
    assert.deepEqual(endpointOf({ url: 'http://h:1' }, {}), { url: 'http://h:1', token: undefined });
  });
});
