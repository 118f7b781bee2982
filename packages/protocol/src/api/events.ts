import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ERROR_CODES } from '../errors.js';
import { Closed, Nullable, Time, Timings } from './common.js';
import { EVENT_TYPES, type EventType } from './event-types.js';

// The event stream (GET /v1/events, server-sent events). Each lifecycle event is one SSE
// message: `id:` is its sequence number, `data:` the JSON below, no `event:` field (so a
// browser's EventSource delivers it to onmessage). Stream notices (`gap`, `overflow`) come
// as named SSE events without an id.

const ErrorInfo = Closed({ code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c))), message: Type.String() });
const Failed = Closed({ error: ErrorInfo });

/** The details of each event type. */
export const EVENT_DETAILS = {
  created: Closed({
    image: Type.String(), imageDigest: Type.String(), timings: Timings,
    /** Made as a free member of this warm pool (not yet anyone's). */
    pool: Type.Optional(Type.String()),
    /** A warm create: claimed from this pool (the member's own `created` came earlier). */
    claimedFrom: Type.Optional(Type.String()),
  }),
  create_failed: Failed,
  /** Re-linked by a starting shedd: it kept running while no daemon was up. */
  adopted: Closed({}),
  started: Closed({ timings: Timings }),
  start_failed: Failed,
  /** A buffered exec finished (argv and output are never in events). Spawned processes have no events. */
  exec: Closed({
    exitCode: Nullable(Type.Integer()), signal: Nullable(Type.String()), timedOut: Type.Boolean(), truncated: Type.Boolean(), timings: Timings,
  }),
  exec_failed: Failed,
  stopped: Closed({ reason: Type.String() }),
  stop_failed: Failed,
  /** Its processes were gone, or its agent did not come back (found by reconciliation). */
  died: Closed({ reason: Type.String() }),
  deleted: Closed({}),
  delete_failed: Failed,
  /** Its filesystem was captured as a snapshot layer (it kept running). */
  snapshot: Closed({ layerId: Type.String(), bytes: Type.Integer(), method: Type.String(), timings: Timings }),
  /** Created as a fork of a snapshot layer (after its `created` event). */
  forked: Closed({ layerId: Type.String() }),
  /** Stopped, moved onto a snapshot (rollback), and started again. */
  rolled_back: Closed({ layerId: Type.String({ description: 'The snapshot the sandbox now starts from' }) }),
} as const satisfies Record<EventType, TSchema>;

const eventOf = <T extends EventType>(type: T) =>
  Closed({
    seq: Type.Integer({ minimum: 1, description: 'Increases by one per event; restarts at 1 when shedd restarts' }),
    type: Type.Literal(type),
    time: Time,
    sandbox: Type.String({ description: 'Sandbox id' }),
    name: Nullable(Type.String()),
    details: EVENT_DETAILS[type],
  });

/** The schema of each type's event; `map` alone would lose which literal goes with which details. */
type EventSchemas = { [T in EventType]: ReturnType<typeof eventOf<T>> };
const EVENT_SCHEMAS = EVENT_TYPES.map(eventOf) as unknown as EventSchemas[EventType][]; // eventOf(t) is EventSchemas[t] for each t

export const ShedEvent = Type.Union(EVENT_SCHEMAS, { description: 'One lifecycle event (the data of an SSE message)' });
export type ShedEvent = Static<typeof ShedEvent>;

/** SSE `event: gap`: the stream could not resume right after `since`; it continues with `oldestSeq`. */
export const GapNotice = Closed({
  since: Type.Integer(),
  oldestSeq: Type.Integer({ description: 'The oldest event still kept; the stream replays from here' }),
  reason: Type.Union([Type.Literal('expired'), Type.Literal('restarted')], {
    description: "expired: the events after `since` left the replay buffer; restarted: `since` is from an earlier shedd",
  }),
});
export type GapNotice = Static<typeof GapNotice>;

/** SSE `event: overflow`, then the stream ends: the client read too slowly. Reconnect with Last-Event-ID: lastSeq. */
export const OverflowNotice = Closed({ lastSeq: Type.Integer(), queueLimit: Type.Integer() });
export type OverflowNotice = Static<typeof OverflowNotice>;

export const EventsQuery = Closed({
  sandbox: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only events of this sandbox (id or name)' })),
  type: Type.Optional(Type.Array(Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))), { maxItems: EVENT_TYPES.length, description: 'Only these types' })),
  since: Type.Optional(Type.Integer({
    minimum: 0, description: 'Replay kept events after this sequence number first (0: all kept); the Last-Event-ID header wins',
  })),
});
export type EventsQuery = Static<typeof EventsQuery>;
