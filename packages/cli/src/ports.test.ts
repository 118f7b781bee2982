import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseForward } from './commands/ports.js';
import { parsePublish } from './commands/sandboxes.js';

describe('port flags', () => {
  it('port-forward takes [LOCAL:]REMOTE', () => {
    assert.deepEqual(parseForward('8000'), { localPort: 8000, port: 8000 });
    assert.deepEqual(parseForward('0:8000'), { localPort: 0, port: 8000 });
    assert.deepEqual(parseForward('18080:80'), { localPort: 18080, port: 80 });
    for (const bad of ['', '0', 'a:80', '80:', '1:2:3', '70000', '80:70000']) assert.throws(() => parseForward(bad), { name: 'UsageError' });
  });
  it('--publish takes [HOSTIP:]HOSTPORT:PORT, IPv6 in brackets', () => {
    assert.deepEqual(parsePublish('8080:80'), { hostPort: 8080, port: 80 });
    assert.deepEqual(parsePublish('0.0.0.0:8080:80'), { hostPort: 8080, port: 80, hostIp: '0.0.0.0' });
    assert.deepEqual(parsePublish('[::1]:8080:80'), { hostPort: 8080, port: 80, hostIp: '::1' });
    for (const bad of ['80', 'x:80:80', '::1:80:80', '8080:80:']) assert.throws(() => parsePublish(bad), { name: 'UsageError' });
  });
});
