import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TerminalClientMessage, type TerminalClientMessage as Message } from '@shed/protocol';
import { compileStrict } from './validation.js';

const check = compileStrict<Message>(TerminalClientMessage);

describe('terminal control messages (TypeBox schema, strict)', () => {
  it('accepts resize, signal and eof', () => {
    for (const ok of [{ type: 'resize', cols: 80, rows: 24 }, { type: 'signal', signal: 'SIGINT' }, { type: 'signal', signal: 9 }, { type: 'eof' }]) {
      assert.equal(check(ok), true, JSON.stringify(ok));
    }
  });

  it('rejects unknown types and fields, missing fields, strings for numbers and out-of-range sizes', () => {
    for (const bad of [
      { type: 'explode' }, { type: 'eof', x: 1 }, { type: 'resize', cols: 80 }, { type: 'resize', cols: '80', rows: 24 },
      { type: 'resize', cols: 0, rows: 24 }, { type: 'resize', cols: 65_536, rows: 24 }, { type: 'signal', signal: 'KILL' },
      { type: 'signal', signal: 65 }, 'eof', null,
    ]) {
      assert.equal(check(bad), false, JSON.stringify(bad));
    }
  });
});
