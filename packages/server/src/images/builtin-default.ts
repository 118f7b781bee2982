import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ShedError } from '../core/errors.js';
import type { ImageConfig } from '../core/images.js';
import { writeTar, type TarEntry } from './tar-writer.js';

/** Every entry of the default image has this mtime, so two builds give the same bytes. */
const MTIME = new Date('2024-01-01T00:00:00Z');

export const DEFAULT_IMAGE_CONFIG: ImageConfig = {
  env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root'],
  workingDir: '/',
};

const FILES: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  'etc/group': 'root:x:0:\nnogroup:x:65534:\n',
  'etc/hosts': '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n',
  'etc/hostname': 'sandbox\n',
  'etc/shells': '/bin/sh\n/bin/ash\n',
  'etc/os-release': 'NAME="shed default"\nID=shed\nPRETTY_NAME="shed default image (busybox)"\n',
};

/** Directories and their modes: /tmp sticky, /root private, mount points for the runtime. */
const DIRS: Record<string, number> = {
  bin: 0o755, dev: 0o755, etc: 0o755, home: 0o755, proc: 0o555, root: 0o700, run: 0o755, sbin: 0o755,
  sys: 0o555, tmp: 0o1777, usr: 0o755, 'usr/bin': 0o755, 'usr/sbin': 0o755, 'usr/local': 0o755,
  'usr/local/bin': 0o755, var: 0o755, 'var/tmp': 0o1777,
};

/**
 * The usual tools get an applet symlink; the rest stay reachable as `busybox NAME`. Not every
 * applet: each symlink is an inode to create at every unpack, and creating one costs ~2 ms
 * on the ext4 volume of the development hosts (measured), so ~270 of them would cost over
 * half a second.
 */
const USUAL = new Set(
  ('[ [[ ash awk base64 basename bunzip2 bzcat bzip2 cat chgrp chmod chown chroot clear cmp cp cpio cut date dd df diff ' +
    'dirname dmesg du echo egrep env expr false fgrep find free getopt grep groups gunzip gzip head hexdump hostname id ip ' +
    'kill killall less ln ls md5sum mkdir mkfifo mktemp more mount mv nc nproc nslookup od patch pidof ping printf ps pwd ' +
    'readlink realpath rm rmdir sed seq sh sha1sum sha256sum sha512sum sleep sort stat stty su tac tail tar tee test time ' +
    'timeout top touch tr true truncate tty umount uname uniq unxz unzip uptime usleep vi watch wc wget which whoami ' +
    'xargs xxd xz xzcat yes zcat').split(' '),
);

/** Applet paths (`usr/bin/env`) from the binary itself: deterministic for a given busybox. */
async function applets(busybox: string): Promise<string[]> {
  try {
    const { stdout } = await promisify(execFile)(busybox, ['--list-full'], { maxBuffer: 1 << 20 });
    return stdout.split('\n').filter((l) => USUAL.has(l.slice(l.lastIndexOf('/') + 1)));
  } catch (err) {
    throw new ShedError('failed_precondition', `cannot run '${busybox}' to build the default image; install Debian's busybox-static package`, {
      cause: err,
    });
  }
}

/**
 * Writes the default image's rootfs as a tar: busybox-static with a symlink per applet, the
 * few files a shell and `id` need, and the mount points a runtime expects. No timestamps or
 * ids from the host leak in, so the same busybox always gives the same digest.
 */
export async function writeDefaultRootfs(busybox: string, out: string): Promise<void> {
  const st = await stat(busybox).catch(() => undefined);
  if (!st?.isFile()) {
    throw new ShedError('failed_precondition', `'${busybox}' does not exist; install Debian's busybox-static package to build the default image`);
  }
  const entries = new Map<string, TarEntry>();
  const base = { uid: 0, gid: 0, mtime: MTIME };
  for (const [dir, mode] of Object.entries(DIRS)) entries.set(dir, { header: { ...base, name: dir, type: 'directory', mode } });
  entries.set('bin/busybox', { header: { ...base, name: 'bin/busybox', type: 'file', mode: 0o755, size: st.size }, body: { file: busybox } });
  for (const [name, text] of Object.entries(FILES)) entries.set(name, { header: { ...base, name, type: 'file', mode: 0o644 }, body: Buffer.from(text) });
  for (const path of await applets(busybox)) {
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    if (dir !== '' && !entries.has(dir)) entries.set(dir, { header: { ...base, name: dir, type: 'directory', mode: 0o755 } });
    if (!entries.has(path)) entries.set(path, { header: { ...base, name: path, type: 'symlink', mode: 0o777, linkname: '/bin/busybox' } });
  }
  // Sorted paths put every directory before its contents (a prefix sorts first).
  await writeTar([...entries.keys()].sort().map((k) => entries.get(k) as TarEntry), out); // Present: k comes from the map's keys.
}
