import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseRuntime, type ChoiceDeps } from './runtime-choice.js';

const HYBRID = 'crun create exited with 1: cgroups in hybrid mode not supported, drop all controllers from cgroupv2';

/** A host where crun refuses hybrid cgroups until the fix runs (when `fixWorks`). */
function host(opts: { fixWorks: boolean; installed?: string[] }): ChoiceDeps & { fixes: number } {
  let fixed = false;
  const deps = {
    fixes: 0,
    find: async (name: string) => ((opts.installed ?? ['crun', 'runc']).includes(name) ? `/usr/bin/${name}` : null),
    trial: async (path: string) => (path.endsWith('crun') && !fixed ? HYBRID : null),
    fixHybrid: async () => {
      deps.fixes++;
      fixed = opts.fixWorks;
      return opts.fixWorks;
    },
  };
  return deps;
}

test('crun is chosen after the hybrid fix makes it work', async () => {
  const h = host({ fixWorks: true });
  const c = await chooseRuntime(['crun', 'runc'], true, h);
  assert.deepEqual(c.runtime, { name: 'crun', path: '/usr/bin/crun' });
  assert.equal(h.fixes, 1);
  assert.deepEqual(c.problems, []);
});

test('runc is the fallback when the fix does not help; the refusal is a note', async () => {
  const h = host({ fixWorks: false });
  const c = await chooseRuntime(['crun', 'runc'], true, h);
  assert.deepEqual(c.runtime, { name: 'runc', path: '/usr/bin/runc' });
  assert.ok(c.notes.some((n) => n.includes('hybrid mode not supported')));
  assert.deepEqual(c.problems, []);
});

test('an explicit runtime that fails is a problem, with no fallback', async () => {
  const c = await chooseRuntime(['crun'], false, host({ fixWorks: false }));
  assert.equal(c.runtime, null);
  assert.match(c.problems[0] ?? '', /crun cannot start a container here/);
});

test('nothing installed says what to install', async () => {
  const c = await chooseRuntime(['crun', 'runc'], true, host({ fixWorks: true, installed: [] }));
  assert.equal(c.runtime, null);
  assert.deepEqual(c.problems, ['no OCI runtime works on this host: install crun or runc']);
  assert.equal(c.notes.length, 2);
});
