import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ShedError } from './errors.js';
import { newSandboxId } from './ids.js';
import { buildSpec } from './sandbox-spec.js';

const invalid = (e: unknown) => e instanceof ShedError && e.code === 'invalid_argument';

describe('buildSpec', () => {
  it('fills defaults and takes the name as hostname', () => {
    const { name, spec } = buildSpec(newSandboxId(), { image: 'default', name: 'web' });
    assert.equal(name, 'web');
    assert.equal(spec.hostname, 'web');
    assert.deepEqual(spec.resources, { memoryMiB: 512, cpuMillis: 1000, pidsMax: 512 });
    assert.equal(spec.network, 'none');
  });

  it('refuses out-of-range resources, bad names, env names and label keys', () => {
    const id = newSandboxId();
    assert.throws(() => buildSpec(id, { image: 'default', memoryMiB: 1 }), invalid);
    assert.throws(() => buildSpec(id, { image: 'default', name: 'sb-123' }), invalid);
    assert.throws(() => buildSpec(id, { image: 'default', env: { 'A=B': 'x' } }), invalid);
    assert.throws(() => buildSpec(id, { image: 'default', labels: { '': 'x' } }), invalid);
  });
});
