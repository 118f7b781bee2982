// CONFIGURE through the real agent, started in its own UTS namespace so the hostname it
// sets is the sandbox's, not the host's.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { agentUnavailable, startAgent, type RunningAgent } from '../helpers/agent.js';
import { assertNoLeaks } from '../helpers/leaks.js';

const skip = await agentUnavailable();
let agent: RunningAgent;

describe('configure through the agent', { skip }, () => {
  before(async () => {
    agent = await startAgent({ uts: true });
  });
  after(async () => {
    await agent?.stop();
    await assertNoLeaks();
  });

  it('sets the hostname inside the namespace only', async () => {
    const before = hostname();
    await agent.client.configure({ hostname: 'shed-test-box' });
    const r = await agent.client.run(['hostname']);
    assert.equal(r.stdout.toString(), 'shed-test-box\n');
    assert.equal(hostname(), before);
  });

  it('replaces the default environment of later execs; exec env still wins', async () => {
    await agent.client.configure({ env: { GREETING: 'hi', TARGET: 'world' } });
    const r = await agent.client.run(['sh', '-c', 'echo "$GREETING $TARGET"'], { env: { TARGET: 'you' } });
    assert.equal(r.stdout.toString(), 'hi you\n');
    await agent.client.configure({ env: { OTHER: '1' } });
    const r2 = await agent.client.run(['sh', '-c', 'echo "[$GREETING][$OTHER]"']);
    assert.equal(r2.stdout.toString(), '[][1]\n');
  });

  it('ping answers', async () => {
    const ms = await agent.client.ping();
    assert.ok(ms >= 0 && ms < 1000);
  });
});
