// Load on one real shedd: 50 creates at once, then 500 execs at once across them (each one's
// output checked), then 50 deletes at once; afterwards the host holds nothing of any of them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Sandbox } from '@shed/sdk';
import { useLeakCheck } from '../helpers/leaks.js';
import { e2eUnavailable, useShedd } from '../e2e/shedd.js';
import { kernelState } from './kernel-state.js';

const skip = await e2eUnavailable();
if (skip !== undefined) console.log(`# load tests skipped: ${skip}`);
useLeakCheck();

const SANDBOXES = 50;
const EXECS = 500;

describe('reliability: load on one shedd', { skip }, () => {
  const fx = useShedd('shed-load-');
  let sandboxes: Sandbox[] = [];

  it(`${SANDBOXES} concurrent creates all succeed, each a distinct running sandbox`, async () => {
    sandboxes = await Promise.all(Array.from({ length: SANDBOXES }, (_, i) => fx.shed.sandboxes.create({ name: `load-${i}`, labels: { load: 'yes' } })));
    assert.equal(new Set(sandboxes.map((s) => s.id)).size, SANDBOXES);
    const listed = await fx.shed.sandboxes.list({ labels: { load: 'yes' } });
    assert.equal(listed.length, SANDBOXES);
    assert.ok(listed.every((s) => s.info.state === 'running'));
    const k = await kernelState(fx.dirs);
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
    assert.deepEqual(await fx.shed.sandboxes.list(), []);
    const k = await kernelState(fx.dirs);
    assert.deepEqual(Object.values(k).flat(), []);
    assert.equal((await fx.shed.health()).status, 'ok');
  });
});
