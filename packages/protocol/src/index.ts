// The public surface of @shed/protocol.
export { ERROR_CODES, isErrorCode, type ErrorCode } from './errors.js';
// HTTP API: request/response schemas (TypeBox), routes, the process output stream.
export { Closed, Empty, Env, Labels, Nullable, SandboxParams, Time, Timings } from './api/common.js';
export { ErrorBody } from './api/errors.js';
export {
  FILE_TYPES, DirEntry, FileStat, FileType, ListDirResponse, MkdirRequest, PathQuery, ReadFileQuery, RemoveRequest,
  RenameRequest, SandboxPath, StatQuery, WriteFileQuery, WriteFileResponse,
} from './api/files.js';
export {
  ImageInfo, ImageRef, ImportImageQuery, ListImagesResponse, PruneImagesRequest, PruneImagesResponse, PullImageRequest,
  RemoveImageRequest,
} from './api/images.js';
export {
  ENV_NAME_PATTERN, HOSTNAME_PATTERN, LABEL_KEY_PATTERN, LIMITS, SANDBOX_ID_PATTERN, SANDBOX_NAME_PATTERN,
} from './api/limits.js';
export {
  OUTPUT_CONTENT_TYPE, OUTPUT_HEADER_BYTES, OUTPUT_MAX_RECORD_BYTES, OutputRecordDecoder, OutputStreamError, encodeOutputRecord,
  type OutputRecord, type OutputRecordKind,
} from './api/output-frames.js';
export {
  Encoding, ExecRequest, ExecResponse, KillRequest, OutputQuery, ProcessExit, ProcessParams, SpawnRequest, SpawnResponse,
  StdinQuery, StdinResponse, WaitResponse,
} from './api/processes.js';
export { API_PREFIX, DEFAULT_SOCKET_PATH, ROUTES, routePath, type RouteName } from './api/routes.js';
export {
  CreateSandboxRequest, ListSandboxesQuery, ListSandboxesResponse, SANDBOX_STATE_NAMES, SandboxInfo, StopSandboxRequest,
} from './api/sandboxes.js';
export { HealthResponse } from './api/system.js';
