// The public surface of @shed/sdk.
export type {
  DirListEntry, PoolInfo, DoctorCheck, DoctorResponse, DoctorStatus, EgressPolicy, EventType, FileKind, FileStatResponse, HealthResponse, ImageInfo, ProcessEntry, ProcessExit,
  PruneImagesResponse, PruneSystemResponse, SandboxInfo, ShedEvent, SnapshotInfo, SnapshotResponse,
} from '@shed/protocol';
export { formatSeconds, type ErrorCode } from '@shed/protocol/client';
export { ShedApiError } from './errors.js';
export { EventStream, type EventsOptions } from './events.js';
export { SandboxFiles, type WriteOptions } from './files.js';
export { Images } from './images.js';
export type {
  AttachOptions, AttachTerminalOptions, ConnectOptions, CreateOptions, ExecOptions, ForkOptions, ListOptions, PoolOptions, PruneOptions, ShellOptions, SnapshotOptions, SpawnOptions,
  StopOptions,
} from './options.js';
export { SandboxProcess } from './process.js';
export { Pools } from './pools.js';
export { SandboxPorts, type PortFetchInit, type PortResponse } from './ports.js';
export { Sandbox, type ExecResult } from './sandbox.js';
export { Sandboxes, Shed } from './shed.js';
export { Snapshots } from './snapshots.js';
export { Terminal, type TerminalSize } from './terminal.js';
export type { CallOptions } from './transport.js';
