// Which program mounts and unmounts the overlay. util-linux's mount(8) and umount(8) load
// libmount, libblkid and libselinux before their one syscall: ~5.5 ms a call spawned from
// shedd, measured here, against ~2.8 ms for busybox-static's applets, the same syscall from
// a static binary. Both are spawned (node cannot call mount(2)); the static one is preferred.
import { access, constants } from 'node:fs/promises';

/** A program and the arguments that come before the caller's. */
export interface Tool {
  readonly file: string;
  readonly prefix: readonly string[];
}

export interface MountTools {
  readonly mount: Tool;
  readonly umount: Tool;
}

/** Debian's busybox-static (scripts/setup.sh installs it). Its -i is mount(8)'s; it keeps no utab to skip. */
const BUSYBOX = '/bin/busybox';
const STATIC: MountTools = { mount: { file: BUSYBOX, prefix: ['mount', '-i'] }, umount: { file: BUSYBOX, prefix: ['umount'] } };
// -i: no /sbin/mount.overlay helper lookup; -n: no utab bookkeeping. Both only cost time.
const UTIL_LINUX: MountTools = { mount: { file: 'mount', prefix: ['-i', '-n'] }, umount: { file: 'umount', prefix: ['-n'] } };

let chosen: Promise<MountTools> | undefined;

export function mountTools(): Promise<MountTools> {
  chosen ??= access(BUSYBOX, constants.X_OK).then(() => STATIC, () => UTIL_LINUX);
  return chosen;
}
