import type { EventType } from '@shed/protocol';
import type { AnyEvent, BusNotice, EventDetails, EventSink, EventSubject, ShedEvent } from './events.js';

export interface EventBusOptions {
  /** Events kept for replay. @default 4096 */
  replayEvents?: number;
  /** Events queued per subscriber before it is dropped. @default 1024 */
  queueEvents?: number;
  /** @default Date.now */
  now?: () => number;
}

export interface SubscribeOptions {
  /** Replay the kept events after this sequence number first (0: all kept, never a gap). @default no replay */
  since?: number;
  /** Only events this returns true for (replayed ones included). @default all */
  filter?: (e: AnyEvent) => boolean;
}

/** Called synchronously for each event; must be cheap and must not throw (metrics, logs). */
export type EventListener = (e: AnyEvent) => void;

/**
 * Sandbox events, in order, to any number of readers. Transport-free: publishing is a
 * synchronous, non-blocking call, so a slow reader never slows an operation down. Each
 * subscriber has a bounded queue; one that falls `queueEvents` behind is dropped with an
 * `overflow` notice, so memory stays bounded however slow it is. The last `replayEvents`
 * events are kept in a ring for readers resuming after a sequence number.
 */
export class EventBus implements EventSink {
  readonly #ring: (AnyEvent | undefined)[];
  readonly #queueEvents: number;
  readonly #now: () => number;
  readonly #subscribers = new Set<Subscription>();
  readonly #listeners = new Set<EventListener>();
  #seq = 0;

  constructor(opts: EventBusOptions = {}) {
    this.#ring = new Array<AnyEvent | undefined>(Math.max(1, opts.replayEvents ?? 4096));
    this.#queueEvents = Math.max(1, opts.queueEvents ?? 1024);
    this.#now = opts.now ?? Date.now;
  }

  /** The sequence number of the newest event, 0 before the first. */
  get latestSeq(): number {
    return this.#seq;
  }

  /** The oldest sequence number still kept for replay (latestSeq + 1 when none is). */
  get oldestSeq(): number {
    return Math.max(1, this.#seq - this.#ring.length + 1);
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  publish<T extends EventType>(type: T, subject: EventSubject, details: EventDetails[T]): void {
    const seq = ++this.#seq;
    // A ShedEvent<T> for each T is one member of AnyEvent; TypeScript cannot follow the generic T into the union.
    const e = Object.freeze({ seq, type, time: this.#now(), sandbox: subject.id, name: subject.name, details }) as ShedEvent<T> as AnyEvent;
    this.#ring[seq % this.#ring.length] = e;
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch {
        // A listener's bug must not fail the operation that published.
      }
    }
    for (const s of this.#subscribers) s.offer(e);
  }

  /** Adds a synchronous listener; returns its removal. */
  listen(l: EventListener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /**
   * A reader of events from now on (after the replay it asks for). Events published after
   * this returns are delivered: subscribing and snapshotting the ring happen in one step.
   */
  subscribe(opts: SubscribeOptions = {}): Subscription {
    const filter = opts.filter ?? (() => true);
    const sub = new Subscription(this.#queueEvents, filter, () => this.#subscribers.delete(sub));
    if (opts.since !== undefined) sub.replay(this.#replayAfter(opts.since, filter));
    this.#subscribers.add(sub);
    return sub;
  }

  #replayAfter(since: number, filter: (e: AnyEvent) => boolean): (AnyEvent | BusNotice)[] {
    const out: (AnyEvent | BusNotice)[] = [];
    const oldest = this.oldestSeq;
    if (since > this.#seq) out.push({ notice: 'gap', since, oldestSeq: oldest, reason: 'restarted' });
    else if (since + 1 < oldest && since > 0) out.push({ notice: 'gap', since, oldestSeq: oldest, reason: 'expired' });
    const from = since > this.#seq ? oldest : Math.max(since + 1, oldest);
    for (let seq = from; seq <= this.#seq; seq++) {
      const e = this.#ring[seq % this.#ring.length];
      if (e !== undefined && filter(e)) out.push(e);
    }
    return out;
  }
}

/**
 * One reader's view of the bus: an async iterable of events and notices. Ends after an
 * `overflow` notice, or when closed (`close()`, or leaving a for-await loop).
 */
export class Subscription implements AsyncIterableIterator<AnyEvent | BusNotice> {
  readonly #limit: number;
  readonly #filter: (e: AnyEvent) => boolean;
  readonly #unsubscribe: () => void;
  /** Replayed items: bounded by the ring, so not counted against the queue limit. */
  #replayed: (AnyEvent | BusNotice)[] = [];
  readonly #queue: AnyEvent[] = [];
  #lastQueued = 0;
  #end: BusNotice | 'closed' | undefined;
  #wake: (() => void) | undefined;

  /** @internal Made by EventBus.subscribe. */
  constructor(limit: number, filter: (e: AnyEvent) => boolean, unsubscribe: () => void) {
    this.#limit = limit;
    this.#filter = filter;
    this.#unsubscribe = unsubscribe;
  }

  /** Events waiting to be read (replay included). */
  get pending(): number {
    return this.#replayed.length + this.#queue.length;
  }

  /** @internal */
  replay(items: (AnyEvent | BusNotice)[]): void {
    this.#replayed = items;
    for (const i of items) if (!('notice' in i)) this.#lastQueued = i.seq;
  }

  /** @internal Called by the bus for each event. */
  offer(e: AnyEvent): void {
    if (this.#end !== undefined || !this.#filter(e)) return;
    if (this.#queue.length >= this.#limit) {
      this.#end = { notice: 'overflow', lastSeq: this.#lastQueued, queueLimit: this.#limit };
      this.#unsubscribe();
    } else {
      this.#queue.push(e);
      this.#lastQueued = e.seq;
    }
    this.#notify();
  }

  /** Stops reading: events still queued are dropped. */
  close(): void {
    if (this.#end !== 'closed') {
      this.#end = 'closed';
      this.#replayed = [];
      this.#queue.length = 0;
      this.#unsubscribe();
    }
    this.#notify();
  }

  async next(): Promise<IteratorResult<AnyEvent | BusNotice>> {
    for (;;) {
      const item = this.#replayed.shift() ?? this.#queue.shift();
      if (item !== undefined) return { value: item, done: false };
      if (this.#end === 'closed') return { value: undefined, done: true };
      if (this.#end !== undefined) {
        const notice = this.#end;
        this.#end = 'closed';
        return { value: notice, done: false };
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<AnyEvent | BusNotice>> {
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
