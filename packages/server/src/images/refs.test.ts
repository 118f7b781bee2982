import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkName, isLoopbackRegistry, nameCandidates, registryHost, withDefaultTag } from './refs.js';

describe('image references', () => {
  it('accepts names as registries spell them and refuses the rest', () => {
    for (const ok of ['default', 'app:1', '127.0.0.1:5000/app:1', 'docker.io/library/debian:12', 'a/b@sha256:' + 'a'.repeat(64)]) assert.equal(checkName(ok), ok);
    for (const bad of ['', 'has space', '-dash', 'a//b', 'sha256:' + 'a'.repeat(64), 'x'.repeat(256), 'semi;colon']) {
      assert.throws(() => checkName(bad), /not a valid image name|looks like a digest/, bad);
    }
  });

  it('adds :latest only when there is no tag or digest', () => {
    assert.equal(withDefaultTag('127.0.0.1:5000/app'), '127.0.0.1:5000/app:latest');
    assert.equal(withDefaultTag('127.0.0.1:5000/app:2'), '127.0.0.1:5000/app:2');
    assert.equal(withDefaultTag('app@sha256:' + 'b'.repeat(64)), 'app@sha256:' + 'b'.repeat(64));
    assert.deepEqual(nameCandidates('default'), ['default', 'default:latest']);
    assert.deepEqual(nameCandidates('app:1'), ['app:1']);
  });

  it('finds the registry host and knows loopback ones', () => {
    assert.equal(registryHost('127.0.0.1:5000/a/b:1'), '127.0.0.1:5000');
    assert.equal(registryHost('localhost/a'), 'localhost');
    assert.equal(registryHost('library/debian'), '');
    assert.equal(registryHost('debian'), '');
    assert.ok(isLoopbackRegistry('127.0.0.1:5000'));
    assert.ok(isLoopbackRegistry('127.3.2.1'));
    assert.ok(isLoopbackRegistry('localhost:80'));
    assert.ok(isLoopbackRegistry('[::1]:5000'));
    assert.ok(!isLoopbackRegistry('registry.example.org'));
    assert.ok(!isLoopbackRegistry('10.0.0.1:5000'));
  });
});
