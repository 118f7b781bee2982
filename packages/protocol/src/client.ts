// The light entry point of @shed/protocol for clients (@shed/sdk, and through it the CLI):
// the runtime values a client needs, without the TypeBox schemas, whose loading costs
// ~200 ms of start-up on the development machine. Types come from the main entry with
// `import type`, which loads nothing.
export { ERROR_CODES, isErrorCode, type ErrorCode } from './errors.js';
export { LIMITS } from './api/limits.js';
export { formatSeconds } from './durations.js';
export {
  EVENT_LIMITS, EVENT_NOTICES, EVENT_TYPES, EVENTS_CONTENT_TYPE, type EventNotice, type EventType,
} from './api/event-types.js';
export {
  OUTPUT_CONTENT_TYPE, OutputRecordDecoder, OutputStreamError, type OutputRecord, type OutputRecordKind,
} from './api/output-frames.js';
export { TERMINAL_CLOSE, TERMINAL_MAX_MESSAGE_BYTES } from './api/terminal-codes.js';
export { DEFAULT_SOCKET_PATH, ROUTES, routePath, type RouteName } from './api/routes.js';
export { FORWARDED_PREFIX_HEADER, SHED_ERROR_HEADER, TCP_UPGRADE_PROTOCOL } from './api/port-codes.js';
