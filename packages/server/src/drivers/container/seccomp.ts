// shed's seccomp profile: allow by default, and deny (EPERM) the syscalls a sandboxed workload
// has no business making and that have a history of kernel escapes or host-wide effects.
// Capabilities already stop most of them; seccomp is the second wall when a capability check
// has a bug or a namespace grants a capability inside.
import type { OciSeccomp, OciSeccompRule } from './oci-types.js';

const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x10000000;

/** Each denied syscall with why: one line each, so a reviewer can check the list. */
export const DENIED_SYSCALLS: Readonly<Record<string, string>> = {
  kexec_load: 'replaces the running kernel',
  kexec_file_load: 'replaces the running kernel',
  init_module: 'loads code into the host kernel',
  finit_module: 'loads code into the host kernel',
  delete_module: 'unloads host kernel modules',
  open_by_handle_at: 'opens host files by handle, bypassing the mount namespace (the "shocker" escape)',
  name_to_handle_at: 'produces handles for open_by_handle_at',
  bpf: 'loads programs into the kernel; a frequent source of verifier escapes',
  perf_event_open: 'kernel profiling: leaks host addresses and has a long CVE history',
  keyctl: 'the kernel keyring is not namespaced',
  add_key: 'the kernel keyring is not namespaced',
  request_key: 'the kernel keyring is not namespaced',
  reboot: 'reboots the host (or its pid namespace)',
  swapon: 'changes host swap',
  swapoff: 'changes host swap',
  acct: 'process accounting is host-wide',
  settimeofday: 'the clock is host-wide',
  clock_settime: 'the clock is host-wide',
  clock_adjtime: 'the clock is host-wide',
  adjtimex: 'the clock is host-wide',
  syslog: 'reads the host kernel log (addresses, other tenants)',
  iopl: 'raw I/O port access',
  ioperm: 'raw I/O port access',
  userfaultfd: 'lets a process stall the kernel at will; a staple of race exploits',
  lookup_dcookie: 'kernel profiling internals',
  quotactl: 'host filesystem quotas',
  uselib: 'obsolete loader with a CVE history',
  vm86: 'obsolete 16-bit mode entry',
  vm86old: 'obsolete 16-bit mode entry',
  pivot_root: 'only the runtime changes the root',
  fsopen: 'new mount API: mounting is not a sandbox operation',
  fsconfig: 'new mount API: mounting is not a sandbox operation',
  fsmount: 'new mount API: mounting is not a sandbox operation',
  fspick: 'new mount API: mounting is not a sandbox operation',
  open_tree: 'new mount API: mounting is not a sandbox operation',
  move_mount: 'new mount API: mounting is not a sandbox operation',
  mount_setattr: 'new mount API: mounting is not a sandbox operation',
  nfsservctl: 'obsolete kernel NFS server control',
};

// A nested user namespace hands its creator every capability inside it, which exposes kernel
// code (mounts, netfilter, …) that is otherwise root-only: the source of many container escapes.
const NO_NEW_USERNS: OciSeccompRule[] = [
  {
    names: ['clone', 'unshare'],
    action: 'SCMP_ACT_ERRNO',
    errnoRet: EPERM,
    // MASKED_EQ: (arg0 & value) == valueTwo, i.e. the CLONE_NEWUSER bit is set.
    args: [{ index: 0, value: CLONE_NEWUSER, valueTwo: CLONE_NEWUSER, op: 'SCMP_CMP_MASKED_EQ' }],
  },
  // clone3 passes its flags in memory seccomp cannot read: ENOSYS makes libc fall back to clone.
  { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
];

export function seccompProfile(): OciSeccomp {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: Object.keys(DENIED_SYSCALLS), action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
      ...NO_NEW_USERNS,
    ],
  };
}
