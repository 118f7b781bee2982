// Facts read from /proc: a process's identity (pid + start time), the boot id, rlimits and
// the mount table. Pure parsers are exported for unit tests; readers add the I/O.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export interface ProcStat {
  /** One-letter state (R, S, D, Z, X, T, …). */
  readonly state: string;
  /** Start time in clock ticks since boot (field 22): with the pid, a process's identity. */
  readonly startTime: number;
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) may contain spaces and parentheses, so
 * fields are counted from the last ')'.
 */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
  const state = rest[0];
  const start = Number(rest[19]);
  if (state === undefined || state.length !== 1 || !Number.isSafeInteger(start)) return null;
  return { state, startTime: start };
}

export async function readProcStat(pid: number): Promise<ProcStat | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return text === null ? null : parseProcStat(text);
}

export function readProcStatSync(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null; // the process is gone
  }
}

/** True when `pid` is the same process (same start time) and has not exited (zombie or dead). */
export async function isSameLiveProcess(pid: number, startTime: number): Promise<boolean> {
  const st = await readProcStat(pid);
  return st !== null && st.startTime === startTime && st.state !== 'Z' && st.state !== 'X';
}

let bootIdCache: string | undefined;

/** The kernel's random id of this boot: pid + start time mean nothing across a reboot. */
export async function bootId(): Promise<string> {
  return bootIdSync();
}

export function bootIdSync(): string {
  bootIdCache ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return bootIdCache;
}

/** Hard limit of one resource from /proc/self/limits text ("Max open files  1024  20000  files"). */
export function parseHardLimit(limitsText: string, name: string): number | 'unlimited' | null {
  for (const line of limitsText.split('\n')) {
    if (!line.startsWith(name)) continue;
    const cols = line.slice(name.length).trim().split(/\s+/);
    const hard = cols[1];
    if (hard === 'unlimited') return 'unlimited';
    const n = Number(hard);
    return Number.isSafeInteger(n) ? n : null;
  }
  return null;
}

export interface MountEntry {
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
  readonly superOptions: readonly string[];
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** Parses /proc/<pid>/mountinfo (man 5 proc): "id parent maj:min root mountpoint opts [optional…] - fstype source superopts". */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const mountPoint = left[4];
    const [fsType, source, opts] = right;
    if (mountPoint === undefined || fsType === undefined || source === undefined) continue;
    out.push({ mountPoint: unescapeMount(mountPoint), fsType, source: unescapeMount(source), superOptions: (opts ?? '').split(',') });
  }
  return out;
}

export async function readMounts(): Promise<MountEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** Mount points at or below `dir`, deepest first (the order to unmount them in). */
export function mountsUnder(mounts: readonly MountEntry[], dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return mounts
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}
