import type { ShedEvent as WireEvent } from '@shed/protocol';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { ShedError } from '../core/errors.js';
import type { AnyEvent, BusNotice } from '../core/events.js';
import type { Subscription } from '../core/event-bus.js';

// Server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html): a
// lifecycle event is `id: <seq>` + `data: <json>`; a notice is a named event without an id,
// so a client's Last-Event-ID always names a real event.

/** A comment line every so often, so a client can tell a quiet stream from a dead one. */
const KEEPALIVE_MS = 15_000;

export function wireEvent(e: AnyEvent): WireEvent {
  // Each AnyEvent member maps to the WireEvent member of the same type; only `time` changes shape.
  return { ...e, time: new Date(e.time).toISOString() } as WireEvent;
}

export function sseMessage(item: AnyEvent | BusNotice): string {
  if ('notice' in item) {
    const { notice, ...data } = item;
    return `event: ${notice}\ndata: ${JSON.stringify(data)}\n\n`;
  }
  return `id: ${item.seq}\ndata: ${JSON.stringify(wireEvent(item))}\n\n`;
}

/** The Last-Event-ID header as a sequence number; strict, since it is input like any other. */
export function parseLastEventId(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || !/^\d{1,15}$/.test(v.trim())) {
    throw new ShedError('invalid_argument', `Last-Event-ID '${String(v).slice(0, 40)}' is not an event sequence number; send the id of the last event received`);
  }
  return Number(v.trim());
}

/**
 * Writes a subscription to the response until the client leaves or the subscriber is
 * dropped (after its overflow notice). Waits for the socket to drain between writes, so a
 * slow client's backlog sits in the bounded subscriber queue, not in the socket buffer.
 */
export async function pipeEvents(sub: Subscription, res: ServerResponse): Promise<void> {
  res.once('close', () => sub.close());
  const keepalive = setInterval(() => {
    if (res.writableLength === 0) res.write(': keepalive\n\n');
  }, KEEPALIVE_MS);
  keepalive.unref();
  try {
    for await (const item of sub) {
      if (res.destroyed) break;
      if (!res.write(sseMessage(item))) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
  } catch {
    // The socket went away mid-write: the client left, nothing to report to.
  } finally {
    clearInterval(keepalive);
    sub.close();
    if (!res.destroyed) res.end();
  }
}
