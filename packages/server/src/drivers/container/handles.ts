// What a running container sandbox is in the kernel, enough to tear it down after a daemon
// crash. Kept in memory and in <runDir>/handles.json; parsed strictly, since the file may be
// stale, truncated or from another version.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriverHandles } from '../../core/driver.js';
import { invalidArgument, ShedError } from '../../core/errors.js';
import { isSandboxId, type SandboxId } from '../../core/ids.js';
import { isRuntimeName, type RuntimeName } from './runtime.js';

export const DRIVER_NAME = 'container';

// A type alias, not an interface: DriverHandles.data is a Record, which only aliases satisfy.
export type ContainerHandleData = {
  readonly runtime: RuntimeName;
  readonly runtimePath: string;
  /** The runtime's `--root` (one per daemon run dir). */
  readonly runtimeRoot: string;
  /** `shed-<sandboxId>`. */
  readonly containerId: string;
  /** The agent, PID 1 of the sandbox, as the host sees it. */
  readonly initPid: number;
  /** Its start time in clock ticks since boot: pid + start time + boot id name one process. */
  readonly initStartTime: number;
  readonly bootId: string;
  /** The sandbox's cgroup directory in each hierarchy. */
  readonly cgroupDirs: readonly string[];
  /** Mount points the driver made on the host (the overlay rootfs). */
  readonly mounts: readonly string[];
  readonly socketPath: string;
  readonly stateDir: string;
  readonly runDir: string;
};

export interface ContainerHandles extends DriverHandles {
  readonly data: ContainerHandleData;
}

type Check = (v: unknown) => boolean;
const absPath: Check = (v) => typeof v === 'string' && v.startsWith('/') && !v.includes('\0');
const posInt: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const nonNegInt: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const pathList: Check = (v) => Array.isArray(v) && v.every(absPath);

const DATA_FIELDS: Record<keyof ContainerHandleData, Check> = {
  runtime: isRuntimeName,
  runtimePath: absPath,
  runtimeRoot: absPath,
  containerId: (v) => typeof v === 'string' && /^shed-sb-[0-9a-f]{12}$/.test(v),
  initPid: posInt,
  initStartTime: nonNegInt,
  bootId: (v) => typeof v === 'string' && /^[0-9a-f-]{36}$/.test(v),
  cgroupDirs: pathList,
  mounts: pathList,
  socketPath: absPath,
  stateDir: absPath,
  runDir: absPath,
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkExact(obj: Record<string, unknown>, fields: Record<string, Check>, where: string): void {
  for (const k of Object.keys(obj)) if (!(k in fields)) throw invalidArgument(`${where}: unknown field '${k}'`, { field: k });
  for (const [k, check] of Object.entries(fields)) {
    if (!check(obj[k])) throw invalidArgument(`${where}: field '${k}' is missing or malformed`, { field: k });
  }
}

/** Validates container driver handles (from memory or handles.json); rejects unknown fields. */
export function parseContainerHandles(value: unknown): ContainerHandles {
  if (!isRecord(value)) throw invalidArgument('container handles must be an object');
  checkExact(value, { driver: (v) => v === DRIVER_NAME, id: (v) => typeof v === 'string' && isSandboxId(v), data: isRecord }, 'handles');
  // Checked just above: data is a record, every field of which checkExact validates next.
  const data = value.data as Record<string, unknown>;
  checkExact(data, DATA_FIELDS, 'handles.data');
  if (data.containerId !== `shed-${String(value.id)}`) throw invalidArgument('handles: containerId does not match the sandbox id');
  // Every field was validated against DATA_FIELDS above.
  return { driver: DRIVER_NAME, id: value.id as SandboxId, data: data as unknown as ContainerHandleData };
}

export const handlesPath = (runDir: string): string => join(runDir, 'handles.json');

/** Writes handles.json atomically (write + rename): a crash never leaves half a file. */
export async function writeHandlesFile(h: ContainerHandles): Promise<void> {
  const path = handlesPath(h.data.runDir);
  await writeFile(`${path}.tmp`, JSON.stringify(h));
  await rename(`${path}.tmp`, path);
}

/** Reads and validates handles.json; null when the file is absent. */
export async function readHandlesFile(runDir: string): Promise<ContainerHandles | null> {
  const text = await readFile(handlesPath(runDir), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (text === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ShedError('invalid_argument', `${handlesPath(runDir)} is not JSON; remove it and restart the daemon`, { cause: err });
  }
  return parseContainerHandles(parsed);
}
