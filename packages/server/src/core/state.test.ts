import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { IllegalTransition, SANDBOX_STATES, canTransition, transition, type SandboxEvent } from './state.js';

const EVENTS: SandboxEvent[] = ['created', 'create_failed', 'pause', 'resume', 'stop', 'stopped', 'start', 'delete', 'deleted', 'died'];

describe('state machine', () => {
  it('names every forbidden transition: failed_precondition, {state, event}, and what to do', () => {
    let forbidden = 0;
    for (const from of SANDBOX_STATES) {
      for (const event of EVENTS) {
        if (canTransition(from, event)) continue;
        forbidden++;
        assert.throws(() => transition(from, event), (e: unknown) => {
          assert.ok(e instanceof IllegalTransition, `${from} --${event}--> throws IllegalTransition`);
          assert.equal(e.code, 'failed_precondition');
          assert.deepEqual(e.details, { state: from, event });
          assert.match(e.message, new RegExp(`^cannot [a-z ]+ a sandbox that is ${from}; \\S.{5,}$`), e.message);
          return true;
        });
      }
    }
    assert.ok(forbidden > 40, `the table forbids most pairs (${forbidden})`);
  });

  it('says the obvious thing for the common mistakes', () => {
    const msg = (from: (typeof SANDBOX_STATES)[number], event: SandboxEvent): string => new IllegalTransition(from, event).message;
    assert.equal(msg('running', 'start'), 'cannot start a sandbox that is running; it is already running');
    assert.equal(msg('stopped', 'stop'), 'cannot stop a sandbox that is stopped; it is already stopped');
    assert.match(msg('stopped', 'pause'), /start it first with 'shed start'/);
    assert.match(msg('deleting', 'start'), /being deleted/);
    assert.match(msg('creating', 'stop'), /wait for its create/);
  });

  it('allows what the diagram shows, a death from any running state included', () => {
    assert.equal(transition('running', 'stop'), 'stopping');
    assert.equal(transition('stopped', 'start'), 'creating');
    for (const from of ['creating', 'running', 'paused', 'stopping'] as const) assert.equal(transition(from, 'died'), 'stopped');
    for (const from of SANDBOX_STATES.filter((s) => s !== 'deleted')) assert.equal(transition(from, 'delete'), 'deleting');
  });
});
