import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShedError } from './errors.js';
import { armFaultsFromEnv, faultPoint, parseFaults } from './faults.js';

describe('fault injection', () => {
  it('parses points and actions, kill by default', () => {
    assert.deepEqual([...parseFaults('create.after-driver, delete.after-destroy=throw')], [
      ['create.after-driver', 'kill'], ['delete.after-destroy', 'throw'],
    ]);
  });

  it('rejects an unknown point or action', () => {
    assert.throws(() => parseFaults('create.after-everything=kill'), /unknown fault point/);
    assert.throws(() => parseFaults('create.after-intent=explode'), /unknown action/);
  });

  it('is ignored, with a warning, unless SHED_ALLOW_FAULTS=1', () => {
    const r = armFaultsFromEnv({ SHED_FAULTS: 'create.after-intent=throw' });
    assert.deepEqual(r.armed, []);
    assert.match(r.warning ?? '', /SHED_ALLOW_FAULTS=1/);
    assert.doesNotThrow(() => faultPoint('create.after-intent'));
  });

  it('fires an armed throw point, and only that one', () => {
    const r = armFaultsFromEnv({ SHED_FAULTS: 'stop.after-intent=throw', SHED_ALLOW_FAULTS: '1' });
    assert.deepEqual(r.armed, ['stop.after-intent=throw']);
    assert.doesNotThrow(() => faultPoint('stop.after-driver'));
    assert.throws(() => faultPoint('stop.after-intent'), (e: unknown) => e instanceof ShedError && e.code === 'internal');
    armFaultsFromEnv({});
    assert.doesNotThrow(() => faultPoint('stop.after-intent'));
  });
});
