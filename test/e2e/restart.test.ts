// Sandboxes do not depend on shedd: after kill -9 (or a clean stop) the next shedd adopts
// the live ones, marks the dead ones stopped with a reason, and sweeps what belongs to no
// sandbox row.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDb } from '@shed/server';
import { type Sandbox } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { isRunning } from '../helpers/procs.js';
import { containerHandles, e2eUnavailable, useShedd } from './shedd.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# e2e restart tests skipped: ${skip}`);
useLeakCheck();

describe('e2e: shedd restarts', { skip }, () => {
  const fx = useShedd('shed-e2e-restart-');

  /** The host pid of the sandbox's PID 1 (the agent), from its handles. */
  const initPid = async (sb: Sandbox): Promise<number> => (await containerHandles(fx.dirs, sb.id)).initPid;

  it('kill -9 then restart re-adopts a running sandbox: its processes survive and exec works', async () => {
    const sb = await fx.shed.sandboxes.create({ name: 'survivor' });
    const bg = (await sb.exec(['sh', '-c', 'sleep 1000 >/dev/null 2>&1 & echo $!'])).stdout.trim();
    await sb.files.write('/root/state.txt', 'before the crash');
    const init = await initPid(sb);
    await fx.restart('kill9');
    assert.ok(await isRunning(init), 'the sandbox outlived shedd');
    const again = await fx.shed.sandboxes.get('survivor');
    assert.equal(again.info.state, 'running');
    assert.equal((await again.exec(['sh', '-c', `kill -0 ${bg} && echo alive`])).stdout, 'alive\n', 'the background process survived');
    assert.equal(await again.files.readText('/root/state.txt'), 'before the crash');
    assert.equal((await again.exec(['echo', 'after'])).stdout, 'after\n');
    assert.equal(await initPid(again), init, 'the same init, adopted rather than restarted');
  });

  it('a clean stop (SIGTERM) leaves sandboxes running for the next shedd', async () => {
    const sb = await fx.shed.sandboxes.create({ name: 'graceful' });
    const init = await initPid(sb);
    await fx.restart('stop');
    assert.ok(await isRunning(init));
    assert.equal((await (await fx.shed.sandboxes.get('graceful')).exec(['echo', 'still'])).stdout, 'still\n');
  });

  it('a sandbox that died while shedd was down is marked stopped with why, and starts again', async () => {
    const sb = await fx.shed.sandboxes.create({ name: 'casualty' });
    await sb.files.write('/root/kept.txt', 'kept');
    fx.shed.close();
    await fx.d.kill9();
    const init = await initPid(sb);
    process.kill(init, 'SIGKILL');
    // Dead before shedd comes back, as the case says (the kernel tears a pid namespace down asynchronously).
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && (await isRunning(init));) await new Promise((r) => setTimeout(r, 10));
    await fx.start();
    const dead = await fx.shed.sandboxes.get('casualty');
    assert.equal(dead.info.state, 'stopped');
    assert.match(dead.info.stateReason ?? '', /processes were gone/);
    await dead.start();
    assert.equal(await dead.files.readText('/root/kept.txt'), 'kept', 'its writable layer survived');
  });

  it('sweeps a sandbox whose row is gone: container, cgroups, mounts and directories', async () => {
    const sb = await fx.shed.sandboxes.create({ name: 'orphan' });
    const init = await initPid(sb);
    fx.shed.close();
    await fx.d.kill9();
    // What a crash between the runtime start and the row insert leaves: a live container no row knows.
    const db = openDb({ path: join(fx.dirs.dataDir, 'shed.db') });
    db.prepare('DELETE FROM sandboxes WHERE id = ?').run(sb.id);
    db.close();
    await fx.start();
    assert.equal(await isRunning(init), false, 'the orphan sandbox was killed');
    assert.deepEqual((await fx.shed.sandboxes.list()).map((s) => s.info.name).sort(), ['casualty', 'graceful', 'survivor']);
    const log = await readFile(fx.d.logPath, 'utf8');
    assert.match(log, new RegExp(`runtime container \\w+:shed-${sb.id}`), 'the sweep reports the container');
    assert.match(log, new RegExp(`directory [^"]*/data/sandboxes/${sb.id}`), 'and the writable layer');
  });
});
