import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroupDirsFromProcText, cgroupScope, layoutFromMounts } from './cgroups.js';
import { parseMountInfo } from './procfs.js';

const HYBRID = parseMountInfo([
  '30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
  '32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
  '33 30 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
  '34 30 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
].join('\n'));

test('layoutFromMounts tells hybrid from v1 and v2', () => {
  assert.equal(layoutFromMounts(HYBRID).mode, 'hybrid');
  assert.equal(layoutFromMounts(HYBRID.filter((m) => m.fsType !== 'cgroup2')).mode, 'v1');
  assert.equal(layoutFromMounts(HYBRID.filter((m) => m.fsType !== 'cgroup')).mode, 'v2');
});

test('cgroupDirsFromProcText maps each line to its hierarchy', () => {
  const layout = layoutFromMounts(HYBRID);
  const text = '4:memory:/shed/x\n3:cpu,cpuacct:/shed/x\n2:name=systemd:/shed/x\n0::/shed/x\n9:pids:/nowhere\n';
  assert.deepEqual(cgroupDirsFromProcText(text, layout), [
    '/sys/fs/cgroup/cpu,cpuacct/shed/x',
    '/sys/fs/cgroup/memory/shed/x',
    '/sys/fs/cgroup/systemd/shed/x',
    '/sys/fs/cgroup/unified/shed/x',
  ]);
});

test('cgroupScope is stable per run root and differs between roots', () => {
  assert.equal(cgroupScope('/run/shed'), cgroupScope('/run/shed'));
  assert.notEqual(cgroupScope('/run/shed'), cgroupScope('/tmp/other'));
  assert.match(cgroupScope('/run/shed'), /^\/shed\/d-[0-9a-f]{12}$/);
});
