import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShedApiError } from './errors.js';
import { parseServerMessage } from './terminal-messages.js';

const internal = (e: unknown): boolean => e instanceof ShedApiError && e.code === 'internal';

describe('parseServerMessage', () => {
  it('accepts each server message', () => {
    assert.deepEqual(parseServerMessage('{"type":"started","procId":3,"pid":9,"offset":0}'), { type: 'started', procId: 3, pid: 9, offset: 0 });
    const exit = { type: 'exit', exitCode: null, signal: 'SIGKILL', timedOut: true, offset: 12 };
    assert.deepEqual(parseServerMessage(JSON.stringify(exit)), exit);
    const error = { type: 'error', error: { code: 'not_found', message: 'gone', details: {} } };
    assert.deepEqual(parseServerMessage(JSON.stringify(error)), error);
  });

  it('rejects unknown types, missing or wrong fields, unknown fields and non-JSON', () => {
    for (const bad of [
      'nope', '[]', '{"type":"boom"}', '{"type":"started","procId":3,"pid":9}', '{"type":"started","procId":"3","pid":9,"offset":0}',
      '{"type":"started","procId":3,"pid":9,"offset":0,"extra":1}', '{"type":"error","error":{"code":"weird","message":"m","details":{}}}',
      '{"type":"exit","exitCode":1.5,"signal":null,"timedOut":false,"offset":0}',
    ]) {
      assert.throws(() => parseServerMessage(bad), internal, bad);
    }
  });
});
