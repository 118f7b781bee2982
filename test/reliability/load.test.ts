// Load on one real shedd: 50 creates at once, then 500 execs at once across them (each one's
// output checked), then 50 deletes at once; afterwards the host holds nothing of any of them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Shed, type Sandbox } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { daemonDirs, e2eUnavailable, startShedd, type DaemonDirs, type Shedd } from '../e2e/shedd.js';
import { kernelState } from './kernel-state.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# load tests skipped: ${skip}`);
useLeakCheck();

const SANDBOXES = 50;
const EXECS = 500;

describe('reliability: load on one shedd', { skip }, () => {
  let dirs: DaemonDirs;
  let d: Shedd;
  let shed: Shed;
  let sandboxes: Sandbox[] = [];

  before(async () => {
    dirs = await daemonDirs('shed-load-');
    d = await startShedd(dirs);
    shed = await Shed.connect({ socketPath: d.socketPath });
  });

  after(async () => {
    for (const s of await shed.sandboxes.list()) await s.delete();
    shed.close();
    await d.stop();
  });

  it(`${SANDBOXES} concurrent creates all succeed, each a distinct running sandbox`, async () => {
    sandboxes = await Promise.all(Array.from({ length: SANDBOXES }, (_, i) => shed.sandboxes.create({ name: `load-${i}`, labels: { load: 'yes' } })));
    assert.equal(new Set(sandboxes.map((s) => s.id)).size, SANDBOXES);
    const listed = await shed.sandboxes.list({ labels: { load: 'yes' } });
    assert.equal(listed.length, SANDBOXES);
    assert.ok(listed.every((s) => s.info.state === 'running'));
    const k = await kernelState(dirs);
    assert.equal(k.containers.length, SANDBOXES);
    assert.equal(k.withProcesses.length, SANDBOXES);
  });

  it(`${EXECS} concurrent execs: every one returns its own output and exit code`, async () => {
    const results = await Promise.all(Array.from({ length: EXECS }, async (_, i) => {
      const sb = sandboxes[i % SANDBOXES] ?? assert.fail('sandboxes were created');
      const r = await sb.exec(['sh', '-c', `echo ${i} $(hostname); echo err-${i} >&2; exit ${i % 7}`]);
      return r.stdout === `${i} load-${i % SANDBOXES}\n` && r.stderr === `err-${i}\n` && r.exitCode === i % 7 ? 'ok' : `${i}: ${JSON.stringify(r)}`;
    }));
    assert.deepEqual(results.filter((r) => r !== 'ok'), []);
  });

  it(`${SANDBOXES} concurrent deletes leave nothing of any sandbox`, async () => {
    await Promise.all(sandboxes.map((s) => s.delete()));
    assert.deepEqual(await shed.sandboxes.list(), []);
    const k = await kernelState(dirs);
    assert.deepEqual(Object.values(k).flat(), []);
    assert.equal((await shed.health()).status, 'ok');
  });
});
