import type { ProcessExit } from '@shed/protocol';
import { TERMINAL_CLOSE, TERMINAL_MAX_MESSAGE_BYTES } from '@shed/protocol/client';
// Types only: ws is loaded when a terminal opens, not with every `shed` command (start-up).
import type { RawData, WebSocket } from 'ws';
import { ByteQueue } from './byte-queue.js';
import { ShedApiError, errorFromResponse } from './errors.js';
import { parseServerMessage, type ServerMessage } from './terminal-messages.js';
import { readText } from './transport.js';

/** Output held for a reader that is behind; past it the socket stops reading (TCP backpressure to shedd). */
const QUEUE_LIMIT_BYTES = 1_048_576;
/** Input queued on the socket before `write` waits for it to reach the kernel. */
const SEND_HIGH_WATER_BYTES = 262_144;

export interface TerminalSize {
  cols: number;
  rows: number;
}

/**
 * A process on a terminal, over one WebSocket: `write` its input, read its output (async
 * iteration or `onData`), `resize`, `kill`, `wait`. `detach()` (or a dropped connection)
 * leaves the process running; `sandbox.attachTerminal(procId, { offset })` picks it up
 * again, replaying from `offset` (`terminal.offset` is where this one stopped).
 */
export class Terminal implements AsyncIterable<Buffer> {
  readonly procId: number;
  readonly pid: number;
  readonly #ws: WebSocket;
  readonly #queue = new ByteQueue(QUEUE_LIMIT_BYTES);
  readonly #exit: Promise<ProcessExit>;
  #offset: number;
  #result: { exit: ProcessExit } | { error: ShedApiError } | undefined;

  /** @internal Made by openTerminal once the `started` message arrived. */
  constructor(ws: WebSocket, started: Extract<ServerMessage, { type: 'started' }>) {
    this.#ws = ws;
    this.procId = started.procId;
    this.pid = started.pid;
    this.#offset = started.offset;
    this.#exit = new Promise((resolve, reject) => {
      ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
      ws.on('close', (code, reason) => {
        const end = this.#result ?? { error: lostConnection(this.procId, this.#offset, code, reason.toString()) };
        if ('exit' in end) {
          this.#queue.end();
          resolve(end.exit);
        } else {
          this.#queue.end(end.error);
          reject(end.error);
        }
      });
    });
    this.#exit.catch(() => undefined); // reported through wait() and the iterator
  }

  /** Output offset just past the last byte received: reattach from here to miss nothing. */
  get offset(): number {
    return this.#offset;
  }

  /** Sends input (keystrokes, or stdin without a tty), in order. */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let at = 0; at < bytes.byteLength; at += TERMINAL_MAX_MESSAGE_BYTES) {
      const sent = this.#send(bytes.subarray(at, at + TERMINAL_MAX_MESSAGE_BYTES));
      if (this.#ws.bufferedAmount > SEND_HIGH_WATER_BYTES) await sent;
    }
  }

  /** Closes the input: EOF on a pipe; on a tty, the EOF character (^D). */
  async end(): Promise<void> {
    await this.#send(JSON.stringify({ type: 'eof' }));
  }

  resize(size: TerminalSize): void {
    void this.#send(JSON.stringify({ type: 'resize', cols: size.cols, rows: size.rows })).catch(() => undefined);
  }

  /** Sends a signal to the process group. @default 'SIGTERM' */
  kill(signal: string | number = 'SIGTERM'): void {
    void this.#send(JSON.stringify({ type: 'signal', signal })).catch(() => undefined);
  }

  /** Calls `fn` with each piece of output; use this or async iteration, not both. */
  onData(fn: (data: Buffer) => void): void {
    void (async () => {
      for await (const chunk of this.#queue) fn(chunk);
    })().catch(() => undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /** Resolves with the exit after all output arrived; rejects when the connection is lost first. */
  wait(): Promise<ProcessExit> {
    return this.#exit;
  }

  /** Closes the connection; the process keeps running and can be attached again. */
  detach(): void {
    this.#ws.close(1000, 'detached');
  }

  #send(data: string | Uint8Array): Promise<void> {
    if (this.#ws.readyState !== this.#ws.OPEN) {
      return Promise.reject(new ShedApiError('failed_precondition', `the terminal of process ${this.procId} is closed; attach again to send to it`));
    }
    return new Promise((resolve, reject) => this.#ws.send(data, { binary: typeof data !== 'string' }, (err) => (err === undefined || err === null ? resolve() : reject(err))));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data;
    if (isBinary) {
      this.#offset += bytes.byteLength;
      this.#queue.push(bytes);
      // A reader that is behind: stop reading the socket until it catches up.
      const room = this.#queue.room();
      this.#ws.pause();
      void room.then(() => this.#ws.resume());
      return;
    }
    const msg = parseServerMessage(bytes.toString('utf8'));
    if (msg.type === 'exit') this.#result = { exit: { exitCode: msg.exitCode, signal: msg.signal, timedOut: msg.timedOut } };
    else if (msg.type === 'error') this.#result = { error: new ShedApiError(msg.error.code, msg.error.message, { details: msg.error.details }) };
    else this.#result = { error: new ShedApiError('internal', `shedd sent a second 'started' on the terminal of process ${this.procId}`) };
  }
}

/** Opens the WebSocket at `target.url` (with its headers: the bearer token over TCP) and resolves once shedd says the process started. */
export async function openTerminal(target: { url: string; headers: Record<string, string> }, signal?: AbortSignal): Promise<Terminal> {
  signal?.throwIfAborted();
  const { WebSocket } = await import('ws');
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target.url, { maxPayload: 2 * TERMINAL_MAX_MESSAGE_BYTES, perMessageDeflate: false, headers: target.headers });
    const fail = (err: unknown): void => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(err);
    };
    const onAbort = (): void => fail(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => signal?.removeEventListener('abort', onAbort);
    ws.once('unexpected-response', (_req, res) => {
      void readText(res).then((text) => fail(errorFromResponse(res.statusCode ?? 0, text)), fail).finally(done);
    });
    ws.once('error', (err) => {
      done();
      fail(new ShedApiError('unavailable', `could not open a terminal on shedd: ${err.message}`, { cause: err }));
    });
    ws.once('close', (code, reason) => {
      done();
      fail(new ShedApiError('unavailable', `shedd closed the terminal before it started (${code} ${reason.toString()})`));
    });
    ws.once('message', (data, isBinary) => {
      done();
      ws.removeAllListeners();
      ws.on('error', () => undefined); // a later socket error surfaces as the close that follows it
      try {
        const text = isBinary ? '' : Buffer.isBuffer(data) ? data.toString('utf8') : '';
        const msg = parseServerMessage(text);
        if (msg.type === 'started') return resolve(new Terminal(ws, msg));
        if (msg.type === 'error') return fail(new ShedApiError(msg.error.code, msg.error.message, { details: msg.error.details }));
        fail(new ShedApiError('internal', "shedd's terminal did not start with a 'started' message"));
      } catch (err) {
        fail(err);
      }
    });
  });
}

function lostConnection(procId: number, offset: number, code: number, reason: string): ShedApiError {
  const why = code === TERMINAL_CLOSE.goingAway ? 'shedd is stopping' : code === TERMINAL_CLOSE.tooBig ? 'a message was too big' : `closed with ${code} ${reason}`;
  return new ShedApiError('unavailable', `lost the terminal of process ${procId} (${why}); it keeps running: attach again from offset ${offset}`, {
    details: { procId, offset },
  });
}
