import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ShedError } from './errors.js';
import { buildEgress, parseEgressRule } from './network.js';
import { buildSpec } from './sandbox-spec.js';
import { newSandboxId } from './ids.js';

const invalid = (e: unknown): boolean => e instanceof ShedError && e.code === 'invalid_argument';

describe('egress rules', () => {
  it('parses addresses, CIDRs and ports', () => {
    assert.deepEqual(parseEgressRule('192.0.2.7'), { address: '192.0.2.7', prefix: 32, port: null });
    assert.deepEqual(parseEgressRule('10.0.0.0/8:443'), { address: '10.0.0.0', prefix: 8, port: 443 });
    assert.deepEqual(parseEgressRule('0.0.0.0/0'), { address: '0.0.0.0', prefix: 0, port: null });
  });

  it('refuses malformed rules, host bits under the prefix and ports past 65535', () => {
    for (const bad of ['10.0.0.1/8', '300.1.1.1', '10.0.0.0/33', '::1', '10.0.0.0/8:0', '10.0.0.0/8:70000', 'example.com', '10.0.0.0 /8']) {
      assert.throws(() => parseEgressRule(bad), invalid, bad);
    }
    assert.throws(() => parseEgressRule('10.0.0.1/8'), /did you mean 10\.0\.0\.0\/8/);
  });

  it('fills in defaults and checks every rule of a policy', () => {
    assert.deepEqual(buildEgress(undefined), { allow: [], deny: [], allowHost: false, allowSandboxes: false });
    assert.deepEqual(buildEgress({ allowHost: true, deny: ['10.0.0.0/8'] }), { allow: [], deny: ['10.0.0.0/8'], allowHost: true, allowSandboxes: false });
    assert.throws(() => buildEgress({ allow: ['nope'] }), invalid);
    assert.throws(() => buildEgress({ deny: Array.from({ length: 65 }, () => '10.0.0.0/8') }), invalid);
  });

  it("a create spec keeps egress only with network 'nat'", () => {
    const id = newSandboxId();
    assert.deepEqual(buildSpec(id, { image: 'default', network: 'nat' }).spec.egress, buildEgress(undefined));
    assert.equal(buildSpec(id, { image: 'default' }).spec.egress, undefined);
    assert.throws(() => buildSpec(id, { image: 'default', egress: { allowHost: true } }), /egress needs network 'nat'/);
    // A value from outside the type system (core is callable without the API's schema).
    assert.throws(() => buildSpec(id, { image: 'default', network: 'bridge' as 'nat' }), invalid);
  });
});
