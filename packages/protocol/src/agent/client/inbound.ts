// Agent→host flow control (docs/protocol.md "Offsets and flow control"): chunks wait here
// until the consumer pulls them, and CREDIT goes out only for what was pulled, so a slow
// consumer holds at most one window of data on the host.

import { AgentError } from './agent-error.js';

/** Sends `CREDIT {offset}` on the stream. */
export type SendCredit = (offset: number) => void;

export class CreditGate {
  readonly #windowBytes: number;
  readonly #send: SendCredit | undefined;
  #credited: number;

  /** `send` undefined = the agent does not do flow control; nothing is acknowledged. */
  constructor(windowBytes: number, startOffset: number, send: SendCredit | undefined) {
    this.#windowBytes = windowBytes;
    this.#credited = startOffset;
    this.#send = send;
  }

  /** Resets the position credit is counted from (STARTED.offset of an attach). */
  restart(offset: number): void {
    this.#credited = offset;
  }

  /** The consumer has everything before `offset`; acknowledge once half a window built up. */
  consumed(offset: number): void {
    if (this.#send === undefined || offset - this.#credited < this.#windowBytes / 2) return;
    this.#credited = offset;
    this.#send(offset);
  }
}

interface Waiter<T> {
  resolve(r: IteratorResult<T>): void;
  reject(err: unknown): void;
}

/**
 * A pull queue of chunks. Each item carries the offset just past it; when the consumer
 * takes the item, that offset is reported to the gate.
 */
export class Inbound<T> implements AsyncIterable<T> {
  readonly #gate: CreditGate;
  readonly #items: { item: T; end: number }[] = [];
  #waiter: Waiter<T> | undefined;
  #done = false;
  #error: { readonly err: unknown } | undefined;
  #iterating = false;

  constructor(gate: CreditGate) {
    this.#gate = gate;
  }

  push(item: T, end: number): void {
    if (this.#done) return;
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      this.#gate.consumed(end);
      w.resolve({ value: item, done: false });
    } else {
      this.#items.push({ item, end });
    }
  }

  /** No more items; the consumer sees the end after the queued ones. */
  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#waiter?.resolve({ value: undefined, done: true });
    this.#waiter = undefined;
  }

  /** The consumer sees `err` after the queued items. */
  fail(err: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = { err };
    this.#waiter?.reject(err);
    this.#waiter = undefined;
  }

  /** Takes every queued item without waiting (used when switching to push delivery). */
  drain(): { item: T; end: number }[] {
    return this.#items.splice(0);
  }

  next(): Promise<IteratorResult<T>> {
    const head = this.#items.shift();
    if (head !== undefined) {
      this.#gate.consumed(head.end);
      return Promise.resolve({ value: head.item, done: false });
    }
    if (this.#error !== undefined) return Promise.reject(this.#error.err);
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterating) throw new AgentError('failed_precondition', 'this output is already being read; iterate it once');
    this.#iterating = true;
    return { next: () => this.next() };
  }
}
