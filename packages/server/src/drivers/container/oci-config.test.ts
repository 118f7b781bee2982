import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DriverCreateSpec } from '../../core/driver.js';
import type { SandboxId } from '../../core/ids.js';
import { AGENT_IN_SANDBOX, buildOciConfig, DEFAULT_CAPABILITIES, SOCKET_DIR_IN_SANDBOX, type ConfigInput } from './oci-config.js';
import { DENIED_SYSCALLS } from './seccomp.js';

const spec: DriverCreateSpec = {
  id: 'sb-0123456789ab' as SandboxId, // Brand cast: a well-formed id literal.
  lowerDirs: ['/images/busybox'],
  hostname: 'box',
  resources: { memoryMiB: 300, cpuMillis: 1500, pidsMax: 99 },
  network: 'none',
  idMap: { hostId: 200000, size: 65536 },
  stateDir: '/state/sb-0123456789ab',
  runDir: '/run/shed/sb-0123456789ab',
};
const input: ConfigInput = {
  spec, rootfs: '/state/sb-0123456789ab/rootfs', agentPath: '/opt/shed-agent', socketDir: '/run/shed/sb-0123456789ab/agent',
  cgroupsPath: '/shed/d-1/shed-sb-0123456789ab', nofileHard: 20000, swapAccounting: true,
};

test('maps sandbox root to the id range for uids and gids, with every namespace', () => {
  const c = buildOciConfig(input);
  assert.deepEqual(c.linux.uidMappings, [{ containerID: 0, hostID: 200000, size: 65536 }]);
  assert.deepEqual(c.linux.gidMappings, c.linux.uidMappings);
  assert.deepEqual(c.linux.namespaces.map((n) => n.type).sort(), ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts']);
  assert.equal(c.hostname, 'box');
});

test('runs the agent read-only from /dev as PID 1 with the default capabilities and no_new_privs', () => {
  const c = buildOciConfig(input);
  assert.deepEqual(c.process.args, [AGENT_IN_SANDBOX, '--connect', `unix:${SOCKET_DIR_IN_SANDBOX}/agent.sock`]);
  assert.ok(AGENT_IN_SANDBOX.startsWith('/dev/') && SOCKET_DIR_IN_SANDBOX.startsWith('/dev/'), 'binds live on the /dev tmpfs');
  const binds = c.mounts.filter((m) => m.type === 'bind');
  assert.deepEqual(binds.map((m) => [m.source, m.destination, m.options.includes('ro')]), [
    ['/opt/shed-agent', AGENT_IN_SANDBOX, true],
    ['/run/shed/sb-0123456789ab/agent', SOCKET_DIR_IN_SANDBOX, true],
  ]);
  assert.deepEqual(c.process.capabilities.effective, [...DEFAULT_CAPABILITIES]);
  assert.deepEqual(c.process.capabilities.bounding, [...DEFAULT_CAPABILITIES]);
  assert.deepEqual(c.process.capabilities.ambient, []);
  assert.equal(c.process.noNewPrivileges, true);
  assert.equal(c.process.oomScoreAdj, undefined, 'only set when the host allows lowering it');
  assert.equal(buildOciConfig({ ...input, agentOomScoreAdj: -998 }).process.oomScoreAdj, -998);
});

test('limits: memory with no swap, cpu quota from cpuMillis, pids; rlimits within the hard limit', () => {
  const r = buildOciConfig(input).linux.resources;
  assert.deepEqual(r.memory, { limit: 300 * 1024 * 1024, swap: 300 * 1024 * 1024 });
  assert.deepEqual(r.cpu, { quota: 150_000, period: 100_000 });
  assert.deepEqual(r.pids, { limit: 99 });
  assert.deepEqual(buildOciConfig({ ...input, swapAccounting: false }).linux.resources.memory, { limit: 300 * 1024 * 1024 });
  for (const l of buildOciConfig(input).process.rlimits) assert.ok(l.hard <= 20000 && l.soft <= l.hard);
});

test('/sys is read-only, sensitive /proc paths masked or read-only, seccomp denies with EPERM', () => {
  const c = buildOciConfig(input);
  assert.ok(c.mounts.find((m) => m.destination === '/sys')?.options.includes('ro'));
  for (const p of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/sys/firmware', '/proc/scsi', '/proc/acpi']) assert.ok(c.linux.maskedPaths.includes(p), p);
  for (const p of ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus']) assert.ok(c.linux.readonlyPaths.includes(p), p);
  assert.equal(c.linux.seccomp.defaultAction, 'SCMP_ACT_ALLOW');
  const denied = c.linux.seccomp.syscalls[0];
  assert.equal(denied?.errnoRet, 1);
  assert.deepEqual(denied?.names, Object.keys(DENIED_SYSCALLS));
});

test('every denied syscall says why', () => {
  for (const [name, why] of Object.entries(DENIED_SYSCALLS)) assert.ok(why.length > 10, `${name} has a reason`);
  for (const s of ['kexec_load', 'init_module', 'open_by_handle_at', 'bpf', 'perf_event_open', 'keyctl', 'reboot', 'swapon', 'acct', 'settimeofday', 'syslog', 'iopl', 'userfaultfd']) {
    assert.ok(s in DENIED_SYSCALLS, s);
  }
});
