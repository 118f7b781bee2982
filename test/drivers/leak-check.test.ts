// The shared leak check itself: it must see a sandbox left running (process, mount, runtime
// container, cgroups) and a network namespace left behind, and, after reporting, clean them away.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ContainerDriver } from '@shed/server';
import { containerTarget } from '../conformance/container-target.js';
import { AGENT_PATH, sandboxEnv } from '../conformance/env.js';
import { assertNoLeaks, cleanAfterLeaks, findLeaks } from '../helpers/leaks.js';
import { makeNetnsPair } from '../helpers/netns.js';

after(assertNoLeaks);

test('a leaked sandbox is reported with what it is, then cleaned', async (ctx) => {
  const target = await containerTarget('crun');
  if (typeof target === 'string') return ctx.skip(target);
  const env = await sandboxEnv('shed-leakcheck-');
  const driver = new ContainerDriver({ runtime: 'crun', agentPath: AGENT_PATH });
  const sb = await driver.create(env.spec());
  await driver.release(sb.handles); // forget it: a leak
  const leaks = await findLeaks();
  const kinds = new Set(leaks.map((l) => l.kind));
  for (const k of ['process', 'mount', 'container', 'cgroup', 'temp dir'] as const) assert.ok(kinds.has(k), `reports a ${k}: ${leaks.map((l) => l.what).join('\n')}`);
  assert.ok(leaks.some((l) => l.kind === 'container' && l.what.includes(`shed-${sb.handles.id}`)));
  await cleanAfterLeaks(leaks);
  assert.equal(await driver.isAlive(sb.handles), false);
  assert.deepEqual((await findLeaks()).map((l) => `${l.kind}: ${l.what}`), []);
});

test('a network namespace a test made and left is reported, then removed', async (ctx) => {
  if (process.getuid?.() !== 0) return ctx.skip('needs root (ip netns add)');
  const pair = await makeNetnsPair();
  const leaks = (await findLeaks()).filter((l) => l.kind === 'netns');
  assert.deepEqual(leaks.map((l) => l.what).sort(), [`/run/netns/${pair.daemonNs}`, `/run/netns/${pair.uplinkNs}`].sort());
  await cleanAfterLeaks(leaks);
  assert.deepEqual((await findLeaks()).filter((l) => l.kind === 'netns'), []);
});
