import type {
  DiffResponse, DirListEntry, PoolInfo, DoctorResponse, ExecResponse, FileStatResponse, HealthResponse, ImageInfo, ProcessEntry, ProcessExit, PruneImagesResponse, PruneSystemResponse,
  SandboxInfo, SnapshotInfo, SnapshotResponse, SpawnResponse, WriteFileResponse,
} from '@shed/protocol';
import { ShedApiError, isRecord } from './errors.js';

// Response checks. The SDK does not load the TypeBox schemas (they cost ~200 ms of start-up
// and the CLI must start fast); shedd validated its side against them. Here each response
// is checked for the fields the SDK relies on, so a wrong peer fails loudly, not later.

type Kind = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'string?' | 'number?' | 'object?';
type Shape = Readonly<Record<string, Kind>>;

function check(v: unknown, what: string, shape: Shape): Record<string, unknown> {
  if (!isRecord(v)) throw bad(what, 'is not an object');
  for (const [field, kind] of Object.entries(shape)) {
    const x = v[field];
    const nullable = kind.endsWith('?');
    if (nullable && x === null) continue;
    const base = nullable ? kind.slice(0, -1) : kind;
    const ok = base === 'array' ? Array.isArray(x) : base === 'object' ? isRecord(x) : typeof x === base;
    if (!ok) throw bad(what, `has ${field} = ${JSON.stringify(x)}, expected ${kind}`);
  }
  return v;
}

const bad = (what: string, problem: string): ShedApiError =>
  new ShedApiError('internal', `shedd's ${what} ${problem}; are the SDK and shedd the same version?`);

const SANDBOX: Shape = { id: 'string', name: 'string?', image: 'string', state: 'string', timings: 'object', labels: 'object', createdAt: 'string' };
const EXIT: Shape = { exitCode: 'number?', signal: 'string?', timedOut: 'boolean' };

// Each function checks, then returns the value as the type it was just checked against.
export const asSandbox = (v: unknown): SandboxInfo => check(v, 'sandbox', SANDBOX) as unknown as SandboxInfo;
export const asSandboxList = (v: unknown): SandboxInfo[] => {
  const list = check(v, 'sandbox list', { sandboxes: 'array' })['sandboxes'] as unknown[];
  return list.map(asSandbox);
};
const SNAPSHOT: Shape = { layerId: 'string', sandbox: 'string', bytes: 'number', method: 'string', createdAt: 'string', forks: 'array' };
export const asSnapshot = (v: unknown): SnapshotInfo => check(v, 'snapshot', SNAPSHOT) as unknown as SnapshotInfo;
export const asSnapshotTaken = (v: unknown): SnapshotResponse => check(v, 'snapshot', { ...SNAPSHOT, timings: 'object' }) as unknown as SnapshotResponse;
export const asSnapshotList = (v: unknown): SnapshotInfo[] => (check(v, 'snapshot list', { snapshots: 'array' })['snapshots'] as unknown[]).map(asSnapshot);
const POOL: Shape = { name: 'string', origin: 'string', free: 'number', capacity: 'number', min: 'number', max: 'number', targetFree: 'number', lastError: 'object?' };
export const asPool = (v: unknown): PoolInfo => check(v, 'pool', POOL) as unknown as PoolInfo;
export const asPoolList = (v: unknown): PoolInfo[] => (check(v, 'pool list', { pools: 'array' })['pools'] as unknown[]).map(asPool);
export const asDiff = (v: unknown): DiffResponse => check(v, 'diff', { added: 'array', modified: 'array', deleted: 'array', opaque: 'array' }) as unknown as DiffResponse;
export const asExec = (v: unknown): ExecResponse =>
  check(v, 'exec result', { ...EXIT, stdout: 'string', stderr: 'string', truncated: 'boolean', timings: 'object' }) as unknown as ExecResponse;
export const asExit = (v: unknown): ProcessExit => check(v, 'exit status', EXIT) as unknown as ProcessExit;
export const asSpawn = (v: unknown): SpawnResponse => check(v, 'spawn result', { procId: 'number', pid: 'number' }) as unknown as SpawnResponse;
export const asStat = (v: unknown): FileStatResponse =>
  check(v, 'file stat', { path: 'string', type: 'string', mode: 'number', sizeBytes: 'number', mtime: 'string' }) as unknown as FileStatResponse;
export const asEntries = (v: unknown): DirListEntry[] => {
  const list = check(v, 'directory list', { entries: 'array' })['entries'] as unknown[];
  return list.map((e) => check(e, 'directory entry', { name: 'string', type: 'string', sizeBytes: 'number' }) as unknown as DirListEntry);
};
export const asWritten = (v: unknown): WriteFileResponse => check(v, 'write result', { sizeBytes: 'number' }) as unknown as WriteFileResponse;
export const asImage = (v: unknown): ImageInfo => check(v, 'image', { digest: 'string', names: 'array', sizeBytes: 'number' }) as unknown as ImageInfo;
export const asImageList = (v: unknown): ImageInfo[] => (check(v, 'image list', { images: 'array' })['images'] as unknown[]).map(asImage);
export const asPrune = (v: unknown): PruneImagesResponse => check(v, 'prune result', { freedBytes: 'number' }) as unknown as PruneImagesResponse;
export const asSystemPrune = (v: unknown): PruneSystemResponse => {
  const r = check(v, 'prune result', { swept: 'array', layers: 'object' });
  check(r['layers'], 'layer gc result', { removed: 'array', freedBytes: 'number' });
  if (r['images'] !== null) check(r['images'], 'image prune result', { removed: 'array', freedBytes: 'number' });
  return r as unknown as PruneSystemResponse;
};
export const asHealth = (v: unknown): HealthResponse =>
  check(v, 'health', { status: 'string', version: 'string', pid: 'number', driver: 'object' }) as unknown as HealthResponse;
export const asDoctor = (v: unknown): DoctorResponse => {
  const r = check(v, 'doctor report', { ok: 'boolean', checks: 'array' });
  for (const c of r['checks'] as unknown[]) check(c, 'doctor check', { name: 'string', status: 'string', detail: 'string', fix: 'string?' });
  return r as unknown as DoctorResponse;
};
export const asProcessList = (v: unknown): ProcessEntry[] => {
  const list = check(v, 'process list', { processes: 'array' })['processes'] as unknown[];
  return list.map((p) => check(p, 'process', { procId: 'number', pid: 'number', argv: 'array', state: 'string', outputBytes: 'number', exitCode: 'number?', signal: 'string?' }) as unknown as ProcessEntry);
};
