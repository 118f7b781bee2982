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
  type ReadFileOptions, type ReadOptions, type RemoveOptions, type RunOptions, type StatOptions, type WriteFileOptions,
} from './agent/client/options.js';
export type { DirEntry, FileStat, FileType, ProcessInfo, ReadyInfo } from './agent/client/results.js';
export type { RunResult } from './agent/client/run.js';
