// Event stream constants a client needs at run time, apart from the TypeBox schemas in
// events.ts (the SDK loads no schemas: see client.ts).

/** Every event type, in the order a sandbox usually sees them. */
export const EVENT_TYPES = [
  'created', 'create_failed', 'adopted', 'started', 'start_failed', 'exec', 'exec_failed',
  'stopped', 'stop_failed', 'died', 'deleted', 'delete_failed', 'snapshot', 'forked', 'rolled_back',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const EVENTS_CONTENT_TYPE = 'text/event-stream';

/** SSE event names of the stream notices (lifecycle events carry no `event:` field). */
export const EVENT_NOTICES = ['gap', 'overflow'] as const;
export type EventNotice = (typeof EVENT_NOTICES)[number];

export const EVENT_LIMITS = {
  /** Events shedd keeps for replay (`since` / Last-Event-ID). */
  replayEvents: 4096,
  /** Events queued for one reader; a reader that falls this far behind gets `overflow` and is dropped. */
  queueEvents: 1024,
} as const;
