// What READY, STAT, LIST and PS replies become for a caller: plain values, units in names.
import { capsFromMask, type Capability } from '../caps.js';
import { decodeEntry, type MessageOf } from '../codec.js';
import { ProtocolError } from '../errors.js';
import type { EntryFields, OkFields } from '../messages.js';
import { safeNumber, signalName } from './values.js';

export interface ReadyInfo {
  /** Protocol version the agent speaks. */
  readonly version: number;
  /** Capabilities in use: the agent's, intersected with this host's (sent back in HELLO). */
  readonly caps: ReadonlySet<Capability>;
  readonly agentVersion: string;
  /** The agent's pid in its own pid namespace (1 when it is init). */
  readonly pid: number;
  /** Random per agent start, as 16 hex digits; a new value means the agent restarted. */
  readonly bootId: string;
  /** How many bytes of stdin/file data may be in flight to the agent per stream. */
  readonly inputWindowBytes: number;
  /** Start-up phases the agent measured, in microseconds. */
  readonly timingsUs: Readonly<Record<string, number>>;
}

export function readyInfo(msg: MessageOf<'READY'>, hostCaps: ReadonlySet<Capability>): ReadyInfo {
  const f = msg.fields;
  const timingsUs: Record<string, number> = {};
  for (const t of f.timing ?? []) {
    const m = /^([^=]+)=(\d{1,15})$/.exec(t);
    if (m === null || m[1] === undefined || m[2] === undefined || m[1] in timingsUs) {
      throw new ProtocolError('bad_value', `READY timing '${t}' is not a unique name=microseconds`);
    }
    timingsUs[m[1]] = Number(m[2]);
  }
  const caps = new Set([...capsFromMask(f.caps)].filter((c) => hostCaps.has(c)));
  return {
    version: f.version,
    caps,
    agentVersion: f.agentVersion,
    pid: f.pid,
    bootId: f.bootId.toString(16).padStart(16, '0'),
    inputWindowBytes: f.window,
    timingsUs,
  };
}

export type FileType = 'file' | 'directory' | 'symlink' | 'char-device' | 'block-device' | 'fifo' | 'socket';
/** `ftype` values 1…7 of docs/protocol.md, in order. */
const FILE_TYPES: readonly FileType[] = ['file', 'directory', 'symlink', 'char-device', 'block-device', 'fifo', 'socket'];

function fileType(ftype: number, stream: number): FileType {
  const t = FILE_TYPES[ftype - 1];
  if (t === undefined) throw new ProtocolError('bad_value', `ftype ${ftype} is not 1..7`, { stream });
  return t;
}

export interface FileStat {
  readonly type: FileType;
  /** `st_mode` in full (type and permission bits). */
  readonly mode: number;
  readonly sizeBytes: number;
  readonly uid: number;
  readonly gid: number;
  /** Modification time, ns since the epoch. */
  readonly mtimeNs: bigint;
  /** A symlink's target. */
  readonly target?: string;
}

export function fileStat(f: OkFields<'STAT'>, stream: number): FileStat {
  return {
    type: fileType(f.ftype, stream),
    mode: f.mode,
    sizeBytes: safeNumber(f.size, 'size', stream),
    uid: f.uid,
    gid: f.gid,
    mtimeNs: f.mtimeNs,
    ...(f.target === undefined ? {} : { target: f.target }),
  };
}

export interface DirEntry {
  readonly name: string;
  readonly type: FileType;
  readonly mode: number;
  readonly sizeBytes: number;
  readonly mtimeNs: bigint;
  readonly target?: string;
}

export function dirEntry(bytes: Uint8Array, stream: number): DirEntry {
  const f: EntryFields<'file'> = decodeEntry('file', bytes, stream);
  return {
    name: f.name,
    type: fileType(f.ftype, stream),
    mode: f.mode,
    sizeBytes: safeNumber(f.size, 'size', stream),
    mtimeNs: f.mtimeNs,
    ...(f.target === undefined ? {} : { target: f.target }),
  };
}

export interface ProcessInfo {
  readonly procId: number;
  readonly pid: number;
  readonly argv: readonly string[];
  readonly state: 'running' | 'exited';
  /** End of its output sequence so far. */
  readonly outputBytes: number;
  readonly exitCode: number | null;
  /** Name of the signal that ended it, or null. */
  readonly signal: string | null;
}

export function processInfo(bytes: Uint8Array, stream: number): ProcessInfo {
  const f: EntryFields<'process'> = decodeEntry('process', bytes, stream);
  if (f.state !== 0 && f.state !== 1) throw new ProtocolError('bad_value', `process state ${f.state} is not 0 or 1`, { stream });
  const term = f.termSignal ?? 0;
  const exited = f.state === 1;
  return {
    procId: f.procId,
    pid: f.pid,
    argv: f.argv ?? [],
    state: exited ? 'exited' : 'running',
    outputBytes: safeNumber(f.offset, 'offset', stream),
    exitCode: exited && term === 0 ? (f.exitCode ?? null) : null,
    signal: term === 0 ? null : signalName(term),
  };
}
