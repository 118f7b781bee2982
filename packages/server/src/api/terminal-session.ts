import {
  TERMINAL_CLOSE, TERMINAL_MAX_MESSAGE_BYTES, TerminalClientMessage, type TerminalServerMessage,
} from '@shed/protocol';
import type { RawData, WebSocket } from 'ws';
import { ShedError } from '../core/errors.js';
import type { SpawnedProcess } from '../core/spawned-process.js';
import { processExit } from './mappers.js';
import { errorBody, httpStatus, toShedError } from './errors.js';
import { compileStrict } from './validation.js';

/**
 * Output bytes queued on the WebSocket before the pump waits for them to reach the kernel.
 * Waiting stops reading the agent stream, which stops crediting the agent, which stops the
 * process: a slow client slows the process instead of growing shedd's memory.
 */
const OUTPUT_HIGH_WATER_BYTES = 262_144;
/** Input accepted but not yet written to the agent before the socket stops reading. */
const INPUT_HIGH_WATER_BYTES = 1_048_576;

const isClientMessage = compileStrict<TerminalClientMessage>(TerminalClientMessage);

/**
 * One WebSocket attached to one process: binary messages are the terminal's bytes both
 * ways, text messages are control (api/terminal.ts in @shed/protocol). Made as soon as the
 * socket opens, so no message is lost while the process starts; `attach` binds it. A closed
 * socket only stops this session: the process keeps running and can be attached again.
 */
export class TerminalSession {
  readonly #socket: WebSocket;
  readonly #closed = new AbortController();
  #proc: SpawnedProcess | undefined;
  #resolveAttached: (p: SpawnedProcess) => void = () => undefined;
  /** Resolves on `attach`; rejects when the socket closes first. */
  readonly #attached: Promise<SpawnedProcess>;
  /** Input and control in arrival order, applied one at a time (writes wait for agent credit). */
  #queue: Promise<void> = Promise.resolve();
  #pendingInputBytes = 0;
  #ended = false;

  constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    socket.on('close', () => this.#closed.abort());
    this.#attached = new Promise<SpawnedProcess>((resolve, reject) => {
      this.#resolveAttached = resolve;
      this.#closed.signal.addEventListener('abort', () => reject(new ShedError('unavailable', 'the terminal closed before its process started')), { once: true });
    });
    this.#attached.catch(() => undefined); // a session closed early has nothing to report
  }

  get open(): boolean {
    return !this.#closed.signal.aborted;
  }

  /** Starts forwarding: `started`, output from `offset` (default: where the last reader stopped), then `exit`. */
  attach(proc: SpawnedProcess, offset?: number): void {
    this.#proc = proc;
    this.#resolveAttached(proc);
    const start = offset ?? proc.outputOffset;
    this.#send({ type: 'started', procId: proc.procId, pid: proc.pid, offset: start });
    void this.#pump(proc, start).catch((err: unknown) => this.fail(err));
  }

  /** Sends the error as the last message and closes with 4000 + its HTTP status. */
  fail(err: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const e = toShedError(err);
    this.#send({ type: 'error', error: errorBody(e).error });
    this.#socket.close(TERMINAL_CLOSE.errorBase + httpStatus(e.code), e.code);
  }

  async #pump(proc: SpawnedProcess, start: number): Promise<void> {
    for await (const ev of proc.output({ offset: start, signal: this.#closed.signal })) {
      if (ev.kind === 'exit') {
        this.#ended = true;
        this.#send({ type: 'exit', ...processExit(ev.exit), offset: ev.offset });
        this.#socket.close(TERMINAL_CLOSE.exited, 'exited');
        return;
      }
      await this.#sendBytes(ev.data);
    }
    // The output ended without an exit: a newer reader took the process over.
    if (this.open) this.fail(new ShedError('failed_precondition', `another client attached to process ${proc.procId}; this one was detached`));
  }

  async #sendBytes(data: Buffer): Promise<void> {
    for (let at = 0; at < data.byteLength && this.open; at += TERMINAL_MAX_MESSAGE_BYTES) {
      const sent = new Promise<void>((resolve) => this.#socket.send(data.subarray(at, at + TERMINAL_MAX_MESSAGE_BYTES), { binary: true }, () => resolve()));
      if (this.#socket.bufferedAmount > OUTPUT_HIGH_WATER_BYTES) await sent;
    }
  }

  #send(msg: TerminalServerMessage): void {
    if (this.open) this.#socket.send(JSON.stringify(msg));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data;
    if (isBinary) return this.#input(bytes);
    const msg = parseControl(bytes);
    if (msg instanceof ShedError) return this.fail(msg);
    // A signal jumps the queue: ^C must not wait behind input the process is not reading.
    if (msg.type === 'signal') return this.#apply((p) => p.kill(msg.signal as NodeJS.Signals | number)); // the schema admits SIG… names and 1..64
    this.#enqueue(async (p) => {
      if (msg.type === 'resize') p.resize({ rows: msg.rows, cols: msg.cols });
      else await p.endStdin();
    });
  }

  #input(bytes: Buffer): void {
    this.#pendingInputBytes += bytes.byteLength;
    if (this.#pendingInputBytes > INPUT_HIGH_WATER_BYTES) this.#socket.pause();
    this.#enqueue(async (p) => {
      // A process that exited or closed its terminal drops input, like a shell pipe; its exit follows.
      await p.write(bytes, this.#closed.signal).catch(() => undefined);
      this.#pendingInputBytes -= bytes.byteLength;
      if (this.#pendingInputBytes <= INPUT_HIGH_WATER_BYTES / 2 && this.#socket.isPaused) this.#socket.resume();
    });
  }

  #enqueue(step: (p: SpawnedProcess) => Promise<void>): void {
    this.#queue = this.#queue.then(() => this.#whenAttached()).then(step).catch((err: unknown) => this.fail(err));
  }

  #apply(step: (p: SpawnedProcess) => Promise<void>): void {
    void this.#whenAttached().then(step).catch((err: unknown) => this.fail(err));
  }

  /** Messages that arrive while the process starts wait for it (the socket is read from the first byte). */
  #whenAttached(): Promise<SpawnedProcess> {
    return this.#proc === undefined ? this.#attached : Promise.resolve(this.#proc);
  }
}

function parseControl(bytes: Buffer): TerminalClientMessage | ShedError {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return new ShedError('invalid_argument', 'a text message on a terminal must be a JSON control message ({"type":"resize"|"signal"|"eof",…}); send terminal input as binary messages');
  }
  if (isClientMessage(v)) return v;
  const problems = (isClientMessage.errors ?? []).map((e) => `${e.instancePath || 'message'} ${e.message ?? 'is invalid'}`);
  return new ShedError('invalid_argument', `unknown or malformed terminal control message: ${problems.join('; ')}`, { details: { problems } });
}
