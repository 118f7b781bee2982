// Reading /proc: children of a pid, a process's pid namespace, memory and command line.
import { readdir, readFile, readlink } from 'node:fs/promises';

async function readOr(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

/** Pids of every process on the host. */
export async function allPids(): Promise<number[]> {
  return (await readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
}

/** The parent pid of `pid`, or undefined when it is gone. */
export async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readOr(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name in field 2 may contain spaces and parentheses: parse after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[1]);
}

export async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const p of await allPids()) if ((await parentOf(p)) === pid) out.push(p);
  return out;
}

/** `pid:[4026531836]`, or undefined when the process is gone. */
export async function pidNamespace(pid: number): Promise<string | undefined> {
  return readlink(`/proc/${pid}/ns/pid`).catch(() => undefined);
}

export async function cmdline(pid: number): Promise<string | undefined> {
  return (await readOr(`/proc/${pid}/cmdline`))?.split('\0').join(' ').trim();
}

/** Resident set size in bytes (VmRSS), or undefined when the process is gone. */
export async function rssBytes(pid: number): Promise<number | undefined> {
  const status = await readOr(`/proc/${pid}/status`);
  const kb = status === undefined ? undefined : /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

/**
 * Whether `pid` still runs. A zombie counts as gone: an orphaned agent is reaped by the
 * host's init, which on some hosts does so only every few seconds.
 */
export async function isRunning(pid: number): Promise<boolean> {
  const stat = await readOr(`/proc/${pid}/stat`);
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}
