import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { access, lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeAgent } from './fake-agent.test-support.js';
import { AgentListener } from './listener.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shed-listener-test-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('AgentListener', () => {
  it('replaces a stale socket file and removes its own on close', async () => {
    const path = join(dir, 'stale.sock');
    // A process killed while listening leaves its socket file behind, as a crashed daemon would.
    const script = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
    spawnSync(process.execPath, ['-e', script]);
    assert.ok((await lstat(path)).isSocket());
    const l = await AgentListener.listen(path);
    await l.close();
    await assert.rejects(access(path));
  });

  it('refuses to replace a file that is not a socket', async () => {
    const path = join(dir, 'regular');
    await writeFile(path, 'keep me');
    await assert.rejects(AgentListener.listen(path), { code: 'already_exists' });
  });

  it('hands out connections in order, including reconnects, and accept aborts', async () => {
    const l = await AgentListener.listen(join(dir, 'a.sock'));
    const a = await FakeAgent.connect(l.path);
    const b = await FakeAgent.connect(l.path);
    const c1 = await l.accept();
    const c2 = await l.accept();
    assert.notEqual(c1, c2);
    const ac = new AbortController();
    const pending = l.accept({ signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
    a.socket.destroy();
    b.socket.destroy();
    await l.close();
    await assert.rejects(l.accept(), { code: 'unavailable' });
  });

  it('skips a connection that drops before it is accepted', async () => {
    const l = await AgentListener.listen(join(dir, 'b.sock'));
    const gone = await FakeAgent.connect(l.path);
    await gone.expect('HELLO');
    gone.socket.destroy();
    await new Promise((r) => setTimeout(r, 30));
    const live = await FakeAgent.connect(l.path);
    const c = await l.accept();
    assert.equal(c.signal.aborted, false);
    live.socket.destroy();
    await l.close();
  });
});
