import type { EventType, ShedEvent } from '@shed/protocol';
import { EVENTS_CONTENT_TYPE, EVENT_TYPES, ROUTES } from '@shed/protocol/client';
// Types only: the parser is loaded when a stream is read, not with every `shed` command (start-up).
import type { EventSourceMessage } from 'eventsource-parser';
import { ShedApiError, isRecord } from './errors.js';
import type { CallOptions, StreamResponse, Transport } from './transport.js';

/** Options of shed.events. */
export interface EventsOptions extends CallOptions {
  /** Only events of this sandbox (id or name). @default all sandboxes */
  sandbox?: string;
  /** Only these event types. @default all */
  types?: readonly EventType[];
  /** First replay the events shedd still keeps after this sequence number (0: all it keeps). @default none: only new events */
  since?: number;
}

/**
 * Sandbox lifecycle events as they happen, oldest first: `for await (const e of stream)`.
 * Ends when the signal aborts or `close()` is called. A reader that falls too far behind is
 * resumed from shedd's replay buffer without losing events; when even that has moved on, or
 * shedd restarts, iteration throws a ShedApiError (`resource_exhausted`, `unavailable`).
 */
export class EventStream implements AsyncIterable<ShedEvent> {
  readonly #t: Transport;
  readonly #opts: EventsOptions;
  readonly #stop = new AbortController();
  #res: StreamResponse | undefined;
  #lastSeq: number | undefined;

  /** @internal Made by Shed.events once shedd has subscribed it. */
  constructor(t: Transport, opts: EventsOptions, res: StreamResponse) {
    this.#t = t;
    this.#opts = opts;
    this.#res = res;
    opts.signal?.addEventListener('abort', () => this.close(), { once: true });
  }

  /** Opens the stream; resolves once shedd has subscribed it (no later event is missed). */
  static async open(t: Transport, opts: EventsOptions): Promise<EventStream> {
    return new EventStream(t, opts, await request(t, opts, opts.since, opts.signal));
  }

  /** Stops the stream; iteration ends. */
  close(): void {
    this.#stop.abort();
    this.#res?.body.destroy();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ShedEvent> {
    try {
      for (;;) {
        const res = this.#res ?? (await request(this.#t, this.#opts, this.#lastSeq ?? this.#opts.since, this.#stop.signal));
        this.#res = res;
        const overflow = yield* this.#read(res);
        this.#res = undefined;
        if (this.#stop.signal.aborted) return;
        if (overflow === undefined) throw new ShedApiError('unavailable', 'the event stream ended; shedd may have stopped or restarted');
        this.#lastSeq ??= overflow; // resume right after the last event shedd sent
      }
    } catch (err) {
      if (this.#stop.signal.aborted) return;
      throw err;
    } finally {
      this.close();
    }
  }

  /** Yields the events of one response; returns the overflow notice's lastSeq, or undefined when it simply ended. */
  async *#read(res: StreamResponse): AsyncGenerator<ShedEvent, number | undefined> {
    const { createParser } = await import('eventsource-parser');
    const got: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (m) => got.push(m) });
    const text = new TextDecoder();
    for await (const chunk of res.body) {
      parser.feed(text.decode(chunk as Buffer, { stream: true })); // an IncomingMessage yields Buffers (no encoding set).
      for (const m of got.splice(0)) {
        if (m.event === 'overflow') return lastSeqOf(m.data);
        if (m.event === 'gap') throw gapError(m.data);
        if (m.event !== undefined) continue; // a notice from a newer shedd: not an event
        const e = asEvent(m.data);
        this.#lastSeq = e.seq;
        yield e;
      }
    }
    return undefined;
  }
}

async function request(t: Transport, opts: EventsOptions, since: number | undefined, signal: AbortSignal | undefined): Promise<StreamResponse> {
  const res = await t.send('GET', ROUTES.events, {
    query: { sandbox: opts.sandbox, type: opts.types === undefined ? undefined : [...opts.types], since }, signal,
  });
  const type = String(res.headers['content-type'] ?? '');
  if (!type.startsWith(EVENTS_CONTENT_TYPE)) {
    res.body.destroy();
    throw new ShedApiError('internal', `shedd's event stream has content type ${type}; are the SDK and shedd the same version?`);
  }
  return res;
}

const KNOWN_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);

// Checked field by field, then returned as the type it was just checked against (as shapes.ts does).
function asEvent(data: string): ShedEvent {
  const v = parse(data);
  const ok = isRecord(v) && typeof v['seq'] === 'number' && typeof v['type'] === 'string' && KNOWN_TYPES.has(v['type']) &&
    typeof v['time'] === 'string' && typeof v['sandbox'] === 'string' && isRecord(v['details']);
  if (!ok) throw new ShedApiError('internal', `shedd sent an event the SDK does not understand (${data.slice(0, 200)}); are the SDK and shedd the same version?`);
  return v as unknown as ShedEvent;
}

function lastSeqOf(data: string): number {
  const v = parse(data);
  if (isRecord(v) && typeof v['lastSeq'] === 'number') return v['lastSeq'];
  throw new ShedApiError('internal', `shedd sent an overflow notice the SDK does not understand (${data.slice(0, 200)})`);
}

function gapError(data: string): ShedApiError {
  const v = parse(data);
  const details = isRecord(v) ? v : {};
  return new ShedApiError('resource_exhausted',
    `shedd no longer keeps the events after ${String(details['since'])} (it keeps the newest few thousand, and restarts from 1): ` +
    're-read the sandboxes with sandboxes.list() and open a new stream without since', { details });
}

function parse(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}
