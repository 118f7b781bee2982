// Builds the OCI config.json of a sandbox. Every security choice is here, in one place:
// user namespace, capabilities, seccomp, masked and read-only paths, cgroup limits, and the
// agent injected read-only as PID 1.
import type { DriverCreateSpec } from '../../core/driver.js';
import type { OciConfig, OciMount, OciNamespaceType, OciResources } from './oci-types.js';
import { seccompProfile } from './seccomp.js';

/**
 * Where the agent and its socket directory appear inside the sandbox. Under /dev, the
 * runtime's own tmpfs, so the bind targets never create entries in the writable layer.
 */
export const AGENT_IN_SANDBOX = '/dev/.shed/agent';
export const SOCKET_DIR_IN_SANDBOX = '/dev/.shed/run';
export const SOCKET_NAME = 'agent.sock';

/** The runtimes' usual conservative default set (Docker, podman, containerd). */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
] as const;

/** Kernel interfaces that leak host information or control: replaced by an empty file/dir. */
export const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];

/** Kernel interfaces a sandbox may read but must not write. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const NAMESPACES: OciNamespaceType[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup'];
const CPU_PERIOD_US = 100_000;
const MiB = 1024 * 1024;

export interface ConfigInput {
  readonly spec: DriverCreateSpec;
  /** The mounted overlay. */
  readonly rootfs: string;
  readonly agentPath: string;
  /** Host directory holding the agent socket, bound read-only at SOCKET_DIR_IN_SANDBOX. */
  readonly socketDir: string;
  readonly cgroupsPath: string;
  /** The host's hard RLIMIT_NOFILE: a runtime asked for more fails (no CAP_SYS_RESOURCE). */
  readonly nofileHard: number;
  /** Whether the memory controller accounts swap; only then can "no swap" be asked for. */
  readonly swapAccounting: boolean;
  /** Network 'nat': the netns to join and the resolv.conf to bind; absent: a fresh netns with loopback only. */
  readonly network?: { readonly netnsPath: string; readonly resolvConfPath: string };
  /** Lowers the agent's OOM score so a workload, not PID 1, is the OOM victim; needs CAP_SYS_RESOURCE. */
  readonly agentOomScoreAdj?: number;
}

export function buildOciConfig(input: ConfigInput): OciConfig {
  const { spec } = input;
  const caps = [...DEFAULT_CAPABILITIES];
  const idMap = [{ containerID: 0, hostID: spec.idMap.hostId, size: spec.idMap.size }];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [AGENT_IN_SANDBOX, '--connect', `unix:${SOCKET_DIR_IN_SANDBOX}/${SOCKET_NAME}`],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: input.nofileHard, soft: input.nofileHard }],
      noNewPrivileges: true,
      ...(input.agentOomScoreAdj === undefined ? {} : { oomScoreAdj: input.agentOomScoreAdj }),
    },
    root: { path: input.rootfs, readonly: false },
    hostname: spec.hostname,
    mounts: mounts(input),
    linux: {
      uidMappings: idMap,
      gidMappings: idMap,
      namespaces: NAMESPACES.map((type) => (type === 'network' && input.network !== undefined ? { type, path: input.network.netnsPath } : { type })),
      cgroupsPath: input.cgroupsPath,
      resources: resources(spec, input.swapAccounting),
      seccomp: seccompProfile(),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}

function mounts(input: ConfigInput): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: AGENT_IN_SANDBOX, type: 'bind', source: input.agentPath, options: ['bind', 'ro', 'nosuid', 'nodev'] },
    { destination: SOCKET_DIR_IN_SANDBOX, type: 'bind', source: input.socketDir, options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] },
    ...(input.network === undefined ? [] : [
      { destination: '/etc/resolv.conf', type: 'bind', source: input.network.resolvConfPath, options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] },
    ]),
  ];
}

function resources(spec: DriverCreateSpec, swapAccounting: boolean): OciResources {
  const limit = spec.resources.memoryMiB * MiB;
  return {
    // Device nodes come from the runtime's default set only; nothing else may be opened.
    devices: [{ allow: false, access: 'rwm' }],
    // OCI's swap is memory+swap: equal to the limit means no swap at all.
    memory: swapAccounting ? { limit, swap: limit } : { limit },
    cpu: { quota: Math.round((spec.resources.cpuMillis * CPU_PERIOD_US) / 1000), period: CPU_PERIOD_US },
    pids: { limit: spec.resources.pidsMax },
  };
}
