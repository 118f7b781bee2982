import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShedError } from '../../core/errors.js';
import { parseContainerHandles } from './handles.js';

const good = {
  driver: 'container',
  id: 'sb-0123456789ab',
  data: {
    runtime: 'crun',
    runtimePath: '/usr/bin/crun',
    runtimeRoot: '/run/shed/.oci/crun',
    containerId: 'shed-sb-0123456789ab',
    initPid: 4242,
    initStartTime: 123456,
    bootId: '0f3c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6',
    cgroupDirs: ['/sys/fs/cgroup/memory/shed/d-1/shed-sb-0123456789ab'],
    mounts: ['/var/lib/shed/sb-0123456789ab/rootfs'],
    socketPath: '/run/shed/sb-0123456789ab/agent/agent.sock',
    stateDir: '/var/lib/shed/sb-0123456789ab',
    runDir: '/run/shed/sb-0123456789ab',
  },
};

const rejects = (v: unknown, re: RegExp): void =>
  assert.throws(() => parseContainerHandles(v), (e: unknown) => e instanceof ShedError && e.code === 'invalid_argument' && re.test(e.message));

test('parseContainerHandles accepts well-formed handles and round-trips through JSON', () => {
  assert.deepEqual(parseContainerHandles(JSON.parse(JSON.stringify(good))), good);
});

test('parseContainerHandles rejects unknown, missing and malformed fields', () => {
  rejects({ ...good, extra: 1 }, /unknown field 'extra'/);
  rejects({ ...good, data: { ...good.data, pidfd: 3 } }, /unknown field 'pidfd'/);
  const { initPid: _drop, ...noPid } = good.data;
  rejects({ ...good, data: noPid }, /'initPid' is missing/);
  rejects({ ...good, data: { ...good.data, runtime: 'docker' } }, /'runtime'/);
  rejects({ ...good, data: { ...good.data, mounts: ['relative/path'] } }, /'mounts'/);
  rejects({ ...good, data: { ...good.data, containerId: 'shed-sb-ffffffffffff' } }, /does not match/);
  rejects({ ...good, driver: 'vm' }, /'driver'/);
  rejects([], /must be an object/);
});
