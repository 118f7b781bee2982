import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DriverCreateSpec } from '../../core/driver.js';
import { ShedError } from '../../core/errors.js';
import type { SandboxId } from '../../core/ids.js';
import { checkSpec } from './spec-check.js';

const good: DriverCreateSpec = {
  id: 'sb-0123456789ab' as SandboxId, // Brand cast: a well-formed id literal.
  lowerDirs: ['/images/busybox'],
  hostname: 'box-1',
  resources: { memoryMiB: 256, cpuMillis: 1000, pidsMax: 128 },
  network: 'none',
  idMap: { hostId: 100000, size: 65536 },
  stateDir: '/state/sb-0123456789ab',
  runDir: '/run/shed/sb-0123456789ab',
};

test('a good spec passes; each bad value is invalid_argument naming the field', () => {
  checkSpec(good);
  const bad: [Partial<DriverCreateSpec>, RegExp][] = [
    [{ id: 'nope' as SandboxId }, /not a sandbox id/], // Brand cast: deliberately malformed.
    [{ hostname: 'has space' }, /hostname/],
    [{ resources: { ...good.resources, memoryMiB: 8 } }, /memoryMiB/],
    [{ resources: { ...good.resources, cpuMillis: 1.5 } }, /cpuMillis/],
    [{ resources: { ...good.resources, pidsMax: 0 } }, /pidsMax/],
    [{ idMap: { hostId: 0, size: 65536 } }, /idMap.hostId/],
    [{ stateDir: 'relative' }, /stateDir/],
    [{ runDir: '/run/../etc' }, /runDir/],
    [{ lowerDirs: [] }, /lowerDirs is empty/],
  ];
  for (const [patch, re] of bad) {
    assert.throws(() => checkSpec({ ...good, ...patch }), (e: unknown) => e instanceof ShedError && e.code === 'invalid_argument' && re.test(e.message), JSON.stringify(patch));
  }
});
