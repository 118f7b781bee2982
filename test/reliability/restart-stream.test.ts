// Two restarts the crash battery does not cover: kill -9 of shedd while a process streams its
// output (the client reattaches by process id from the last offset it saw, and gets every
// byte exactly once, then the exit), and a "reboot" behind a stopped shedd (the sandbox's
// processes killed by pid): the next shedd reports it stopped with why, releases its kernel
// state, and it starts again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROUTES, routePath } from '@shed/protocol/client';
import { useLeakCheck } from '../helpers/leaks.js';
import { isRunning } from '../helpers/procs.js';
import { raw, readOutput } from '../helpers/raw-http.js';
import { e2eUnavailable, useShedd } from '../e2e/shedd.js';
import { kernelState, sandboxPids } from './kernel-state.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# restart stream tests skipped: ${skip}`);
useLeakCheck();

const LINES = 20_000;
/** Numbered lines, pausing every 200 so it still runs while shedd restarts (about 5 s in all). */
const STREAMER = `i=0; while [ $i -lt ${LINES} ]; do echo $i; i=$((i+1)); [ $((i % 200)) -eq 0 ] && sleep 0.05; done; exit 7`;

function procIdOf(body: unknown): number {
  assert.ok(typeof body === 'object' && body !== null && 'procId' in body && typeof body.procId === 'number', 'a spawn reply');
  return body.procId;
}

describe('reliability: restarts while work is under way', { skip }, () => {
  const fx = useShedd('shed-restart-stream-');

  it('kill -9 mid-stream: reattached from the last offset seen, the output is whole, without gaps or repeats, and the exit code arrives', async () => {
    const sb = await fx.shed.sandboxes.create({ name: 'streamer' });
    const spawned = await raw(fx.d.socketPath, {
      method: 'POST', path: routePath(ROUTES.processes, { sandbox: sb.id }), body: JSON.stringify({ argv: ['sh', '-c', STREAMER] }),
    });
    assert.equal(spawned.status, 201, spawned.text);
    const procId = procIdOf(spawned.json);
    const outputPath = (offset: number): string => `${routePath(ROUTES.output, { sandbox: sb.id, procId })}?offset=${offset}`;

    const parts: Buffer[] = [];
    let seen = 0;
    let exit: unknown;
    const onRecord = (rec: { kind: string; offset: number; data: Buffer }): void => {
      if (rec.kind === 'stdout') {
        assert.equal(rec.offset, seen, 'each record starts where the last one ended');
        parts.push(Buffer.from(rec.data));
        seen += rec.data.byteLength;
      } else if (rec.kind === 'exit') exit = JSON.parse(rec.data.toString('utf8'));
      else assert.fail(`unexpected ${rec.kind} record: ${rec.data.toString('utf8')}`);
    };
    const first = readOutput(fx.d.socketPath, outputPath(0), onRecord);
    for (let i = 0; i < 2_000 && seen < 10_000; i++) await sleep(5);
    assert.ok(seen >= 10_000, 'output arrived before the kill');
    fx.shed.close();
    await fx.d.kill9();
    await first;
    assert.equal(exit, undefined, 'shedd died before the process ended');
    const cutAt = seen;
    await fx.start();
    const second = await readOutput(fx.d.socketPath, outputPath(seen), onRecord);
    assert.equal(second.status, 200);
    assert.ok(cutAt > 0 && cutAt < seen, `output before (${cutAt} bytes) and after the restart (${seen})`);
    const expected = Array.from({ length: LINES }, (_, i) => `${i}\n`).join('');
    const got = Buffer.concat(parts).toString('utf8');
    assert.equal(got.length, expected.length, 'no byte lost or repeated');
    assert.ok(got === expected, 'every line, in order');
    assert.deepEqual(exit, { exitCode: 7, signal: null, timedOut: false });
    await sb.delete();
  });

  it('sandbox processes killed behind a stopped shedd (a reboot): stopped with why, kernel state released, starts again', async () => {
    const sb = await fx.shed.sandboxes.create({ name: 'rebooted' });
    const other = await fx.shed.sandboxes.create({ name: 'bystander' });
    await sb.files.write('/root/kept.txt', 'kept');
    fx.shed.close();
    await fx.d.stop();
    const pids = await sandboxPids(fx.dirs, sb.id);
    assert.ok(pids.length > 0, 'the sandbox had processes');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 200 && (await Promise.all(pids.map(isRunning))).some(Boolean); i++) await sleep(10);
    await fx.start();

    const dead = await fx.shed.sandboxes.get('rebooted');
    assert.equal(dead.info.state, 'stopped');
    assert.match(dead.info.stateReason ?? '', /processes were gone/);
    const k = await kernelState(fx.dirs);
    for (const held of [k.runDirs, k.containers, k.cgroups, k.mounts, k.withProcesses]) assert.ok(!held.includes(sb.id), `released: ${JSON.stringify(k)}`);
    assert.ok(k.stateDirs.includes(sb.id), 'its writable layer is kept');
    assert.equal((await (await fx.shed.sandboxes.get('bystander')).exec(['echo', 'fine'])).stdout, 'fine\n', 'the other sandbox was adopted');

    await dead.start();
    assert.equal(await dead.files.readText('/root/kept.txt'), 'kept');
    assert.equal((await dead.exec(['echo', 'back'])).stdout, 'back\n');
    await dead.delete();
    await other.delete();
    const empty = await kernelState(fx.dirs);
    assert.deepEqual(Object.values(empty).flat(), [], 'nothing left after the deletes');
  });
});
