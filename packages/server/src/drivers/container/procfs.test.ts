import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mountsUnder, parseHardLimit, parseMountInfo, parseProcStat } from './procfs.js';

test('parseProcStat counts fields from the last parenthesis', () => {
  const line = '4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10';
  assert.deepEqual(parseProcStat(line), { state: 'S', startTime: 987654 });
  assert.equal(parseProcStat('garbage'), null);
  assert.equal(parseProcStat('1 (x) S 1'), null);
});

test('parseHardLimit reads the hard column', () => {
  const text = [
    'Limit                     Soft Limit           Hard Limit           Units',
    'Max open files            1024                 20000                files',
    'Max locked memory         8388608              unlimited            bytes',
  ].join('\n');
  assert.equal(parseHardLimit(text, 'Max open files'), 20000);
  assert.equal(parseHardLimit(text, 'Max locked memory'), 'unlimited');
  assert.equal(parseHardLimit(text, 'Max processes'), null);
});

test('parseMountInfo unescapes paths and splits super options', () => {
  const text = [
    '42 31 0:39 / /sys/fs/cgroup/hugetlb rw,relatime - cgroup cgroup rw,hugetlb',
    '99 1 0:50 / /tmp/a\\040b/rootfs rw,relatime shared:1 - overlay overlay rw,lowerdir=/x',
  ].join('\n');
  const m = parseMountInfo(text);
  assert.equal(m.length, 2);
  assert.deepEqual(m[0]?.superOptions, ['rw', 'hugetlb']);
  assert.equal(m[1]?.mountPoint, '/tmp/a b/rootfs');
  assert.equal(m[1]?.fsType, 'overlay');
  assert.deepEqual(mountsUnder(m, '/tmp/a b'), ['/tmp/a b/rootfs']);
  assert.deepEqual(mountsUnder(m, '/tmp/a'), []);
});
