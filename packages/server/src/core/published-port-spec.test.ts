import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPublished } from './published-port-spec.js';

describe('buildPublished', () => {
  it('fills in 127.0.0.1 and keeps an explicit address', () => {
    assert.deepEqual(buildPublished([{ hostPort: 8080, port: 80 }, { hostPort: 8443, port: 443, hostIp: '0.0.0.0' }, { hostPort: 9, port: 9, hostIp: '::1' }]), [
      { hostIp: '127.0.0.1', hostPort: 8080, port: 80 },
      { hostIp: '0.0.0.0', hostPort: 8443, port: 443 },
      { hostIp: '::1', hostPort: 9, port: 9 },
    ]);
    assert.deepEqual(buildPublished(undefined), []);
  });
  it('refuses bad ports, bad addresses and a host port given twice', () => {
    for (const bad of [
      [{ hostPort: 0, port: 80 }], [{ hostPort: 80, port: 65_536 }], [{ hostPort: 80.5, port: 80 }],
      [{ hostPort: 80, port: 80, hostIp: 'localhost' }],
      [{ hostPort: 80, port: 1 }, { hostPort: 80, port: 2 }],
      Array.from({ length: 65 }, (_, i) => ({ hostPort: 1000 + i, port: 80 })),
    ]) {
      assert.throws(() => buildPublished(bad), { code: 'invalid_argument' });
    }
    // The same port on two addresses is two listeners.
    assert.equal(buildPublished([{ hostPort: 80, port: 1 }, { hostPort: 80, port: 2, hostIp: '127.0.0.2' }]).length, 2);
  });
});
