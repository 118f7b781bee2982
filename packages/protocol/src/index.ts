// The public surface of @shed/protocol.
export { ERROR_CODES, isErrorCode, type ErrorCode } from './errors.js';

// Agent frame codec (docs/protocol.md).
export { CAPABILITY_BITS, capsFromMask, capsToMask, type Capability } from './agent/caps.js';
export { decodeEntry, decodeMessage, encodeMessage, type Message, type MessageOf, type RawFrame } from './agent/codec.js';
export { FrameDecoder } from './agent/decoder.js';
export { PROTOCOL_ERROR_CODES, ProtocolError, type ProtocolErrorCode } from './agent/errors.js';
export { HEADER_BYTES, MAX_PAYLOAD_BYTES, PROTOCOL_VERSION, readHeader, writeHeader, type FrameHeader } from './agent/header.js';
export {
  ENTRY_KINDS, MESSAGES, OK_REPLIES, okRow,
  type EntryFields, type EntryKind, type FieldSet, type MessageFields, type MessageName, type MessageSpec, type OkFields,
} from './agent/messages.js';
export { MAX_STR_BYTES, TAGS, type TagName, type TagSpec, type TagValue, type ValueKind } from './agent/tags.js';
export { checkFields, decodeFields, encodeFields } from './agent/tlv.js';

// Agent client (the host side).
export { AgentError, codeForErrno, type AgentErrorOptions } from './agent/client/agent-error.js';
export { AgentClient, type AgentClientEvents } from './agent/client/client.js';
export { ExecHandle, type ExecExit, type ExecStarted } from './agent/client/exec.js';
export type { OutputChunk } from './agent/client/exec-output.js';
export { AgentListener, type ListenOptions } from './agent/client/listener.js';
export {
  DEFAULT_WINDOW_BYTES,
  type AttachOptions, type CallOptions, type ConfigureOptions, type ConnectOptions, type ExecOptions, type MkdirOptions,
  type ReadFileOptions, type ReadOptions, type RemoveOptions, type RunOptions, type StatOptions, type TcpConnectOptions,
  type WriteFileOptions,
} from './agent/client/options.js';
export type { DirEntry, FileStat, FileType, ProcessInfo, ReadyInfo } from './agent/client/results.js';
export type { RunResult } from './agent/client/run.js';
export { AgentTcpStream } from './agent/client/tcp.js';

// HTTP API: request/response schemas (TypeBox), routes, the process output stream.
export { Closed, Empty, Env, Labels, Nullable, SandboxParams, Time, Timings } from './api/common.js';
export { ErrorBody } from './api/errors.js';
export {
  EVENT_LIMITS, EVENT_NOTICES, EVENT_TYPES, EVENTS_CONTENT_TYPE, type EventNotice, type EventType,
} from './api/event-types.js';
export { EVENT_DETAILS, EventsQuery, GapNotice, OverflowNotice, ShedEvent } from './api/events.js';
export {
  FILE_KINDS, DirListEntry, FileKind, FileStatResponse, ListDirResponse, MkdirRequest, PathQuery, ReadFileQuery, RemoveRequest,
  RenameRequest, SandboxPath, StatQuery, WriteFileQuery, WriteFileResponse,
} from './api/files.js';
export {
  ImageInfo, ImageRef, ImportImageQuery, ListImagesResponse, PruneImagesRequest, PruneImagesResponse, PullImageRequest,
  RemoveImageRequest,
} from './api/images.js';
export {
  EGRESS_RULE_PATTERN, EGRESS_RULES_MAX, ENV_NAME_PATTERN, EXPIRE_ACTIONS, HOSTNAME_PATTERN, LABEL_KEY_PATTERN, LIMITS,
  NETWORK_MODES, SANDBOX_ID_PATTERN, SANDBOX_NAME_PATTERN,
} from './api/limits.js';
export {
  OUTPUT_CONTENT_TYPE, OUTPUT_HEADER_BYTES, OUTPUT_MAX_RECORD_BYTES, OutputRecordDecoder, OutputStreamError, encodeOutputRecord,
  type OutputRecord, type OutputRecordKind,
} from './api/output-frames.js';
export {
  Encoding, ExecRequest, ExecResponse, KillRequest, OutputQuery, ProcessEntry, ProcessExit, ProcessListResponse, ProcessParams, SpawnRequest,
  SpawnResponse,
  StdinQuery, StdinResponse, WaitResponse,
} from './api/processes.js';
export { formatSeconds } from './durations.js';
export { PortNumber, PortParams, PublishedPort, PublishedPorts } from './api/ports.js';
export { FORWARDED_PREFIX_HEADER, SHED_ERROR_HEADER, TCP_UPGRADE_PROTOCOL } from './api/port-codes.js';
export { ListPoolsResponse, MAX_POOL_MEMBERS, PoolInfo, PoolParams, SetPoolRequest } from './api/pools.js';
export { API_PREFIX, DEFAULT_SOCKET_PATH, ROUTES, routePath, type RouteName } from './api/routes.js';
export {
  CreateSandboxRequest, EgressPolicy, ListSandboxesQuery, ListSandboxesResponse, SANDBOX_STATE_NAMES, SandboxInfo,
  StopSandboxRequest,
} from './api/sandboxes.js';
export {
  CommitRequest, DiffQuery, DiffResponse, ForkRequest, ForkResponse, LAYER_ID_PATTERN, ListSnapshotsResponse, MAX_FORK_COUNT, RollbackRequest, SnapshotInfo, SnapshotParams,
  SnapshotRequest, SnapshotResponse,
} from './api/snapshots.js';
export { DOCTOR_STATUSES, DoctorCheck, DoctorResponse, HealthResponse, PruneSystemRequest, PruneSystemResponse, type DoctorStatus } from './api/system.js';
export { TERMINAL_CLOSE, TERMINAL_MAX_MESSAGE_BYTES } from './api/terminal-codes.js';
export { ShellQuery, TerminalAttachQuery, TerminalClientMessage, TerminalServerMessage } from './api/terminal.js';
