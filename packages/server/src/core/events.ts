import type { Static } from '@sinclair/typebox';
import type { EVENT_DETAILS, EventType } from '@shed/protocol';
import type { SandboxId } from './ids.js';

// What core tells the world about sandboxes: one typed event per change of state and per
// operation's outcome, published on an EventBus. The details of each type are declared once,
// as the API's schema (@shed/protocol EVENT_DETAILS); core adds the sequence number and time.

export type { EventType };
export type EventDetails = { readonly [T in EventType]: Static<(typeof EVENT_DETAILS)[T]> };

export interface ShedEvent<T extends EventType = EventType> {
  /** 1, 2, 3… per bus (per shedd run): the order events happened in. */
  readonly seq: number;
  readonly type: T;
  /** ms since the epoch. */
  readonly time: number;
  readonly sandbox: SandboxId;
  readonly name: string | null;
  readonly details: EventDetails[T];
}

/** Any event, narrowed by `type`. */
export type AnyEvent = { [T in EventType]: ShedEvent<T> }[EventType];

/** Told to a subscriber in-band, between events. */
export type BusNotice =
  /** Replay could not start right after `since`: the stream continues at `oldestSeq`. */
  | { readonly notice: 'gap'; readonly since: number; readonly oldestSeq: number; readonly reason: 'expired' | 'restarted' }
  /** The subscriber fell `queueLimit` events behind and was dropped after `lastSeq`; this is its last item. */
  | { readonly notice: 'overflow'; readonly lastSeq: number; readonly queueLimit: number };

/** Which sandbox an event is about. A SandboxRecord fits. */
export interface EventSubject {
  readonly id: SandboxId;
  readonly name: string | null;
}

/** The publishing side of the bus: what core's services are given. */
export interface EventSink {
  publish<T extends EventType>(type: T, subject: EventSubject, details: EventDetails[T]): void;
}
