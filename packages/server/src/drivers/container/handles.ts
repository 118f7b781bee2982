// What a running container sandbox is in the kernel, enough to tear it down after a daemon
// crash. Core keeps them in memory and in <runDir>/handles.json; the driver parses their data
// strictly, since the file may be stale, truncated or from another version.
import type { DriverHandles } from '../../core/driver.js';
import { invalidArgument } from '../../core/errors.js';
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
  /** Network 'nat': what was set up (absent with 'none', and in handles from before 'nat'). */
  readonly network?: NetworkHandle;
};

export type NetworkHandle = {
  readonly address: string;
  /** The host end of the veth pair, on the bridge. */
  readonly hostIface: string;
  /** The bind-mounted netns file the sandbox runs in. */
  readonly netnsPath: string;
};

export interface ContainerHandles extends DriverHandles {
  readonly data: ContainerHandleData;
}

type Check = (v: unknown) => boolean;
const absPath: Check = (v) => typeof v === 'string' && v.startsWith('/') && !v.includes('\0');
const posInt: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const nonNegInt: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const pathList: Check = (v) => Array.isArray(v) && v.every(absPath);
const networkHandle: Check = (v) => v === undefined || (isRecord(v) && Object.keys(v).length === 3
  && typeof v['address'] === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(v['address'])
  && typeof v['hostIface'] === 'string' && /^[a-zA-Z0-9_.-]{1,15}$/.test(v['hostIface']) && absPath(v['netnsPath']));

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
  network: networkHandle,
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkExact(obj: Record<string, unknown>, fields: Record<string, Check>, where: string): void {
  for (const k of Object.keys(obj)) if (!(k in fields)) throw invalidArgument(`${where}: unknown field '${k}'`, { field: k });
  for (const [k, check] of Object.entries(fields)) {
    if (!check(obj[k])) throw invalidArgument(`${where}: field '${k}' is missing or malformed`, { field: k });
  }
}

/**
 * Handles of a sandbox whose full handles are lost (never started, crashed mid-create, host
 * rebooted): its directories are enough to find everything else by name.
 */
export type BareHandleData = {
  readonly stateDir: string;
  readonly runDir: string;
};

export interface BareContainerHandles extends DriverHandles {
  readonly data: BareHandleData;
}

const BARE_FIELDS: Record<keyof BareHandleData, Check> = { stateDir: absPath, runDir: absPath };

function checkEnvelope(value: unknown): asserts value is { driver: string; id: SandboxId; data: Record<string, unknown> } {
  if (!isRecord(value)) throw invalidArgument('container handles must be an object');
  checkExact(value, { driver: (v) => v === DRIVER_NAME, id: (v) => typeof v === 'string' && isSandboxId(v), data: isRecord }, 'handles');
}

/** Full or bare handles (see BareHandleData), validated; rejects unknown fields. */
export function parseAnyContainerHandles(value: unknown): ContainerHandles | BareContainerHandles {
  checkEnvelope(value);
  if (Object.keys(value.data).length !== Object.keys(BARE_FIELDS).length) return parseContainerHandles(value);
  checkExact(value.data, BARE_FIELDS, 'handles.data');
  // Every field was validated against BARE_FIELDS just above.
  return { driver: DRIVER_NAME, id: value.id, data: value.data as BareHandleData };
}

export const isFullHandles = (h: ContainerHandles | BareContainerHandles): h is ContainerHandles => 'containerId' in h.data;

/** Validates the handles of a running container sandbox (from memory or handles.json); rejects unknown fields. */
export function parseContainerHandles(value: unknown): ContainerHandles {
  checkEnvelope(value);
  const data = value.data;
  checkExact(data, DATA_FIELDS, 'handles.data');
  if (data.containerId !== `shed-${String(value.id)}`) throw invalidArgument('handles: containerId does not match the sandbox id');
  // Every field was validated against DATA_FIELDS above.
  return { driver: DRIVER_NAME, id: value.id, data: data as unknown as ContainerHandleData };
}
