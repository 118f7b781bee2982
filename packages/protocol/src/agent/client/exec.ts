// The host side of one process stream (EXEC or ATTACH): STARTED, output, EXIT or ERROR.
import type { Readable } from 'node:stream';
import type { Message, MessageOf } from '../codec.js';
import { ProtocolError } from '../errors.js';
import { AgentError } from './agent-error.js';
import { ExecOutput, type OutputChunk } from './exec-output.js';
import { CreditGate } from './inbound.js';
import type { Link, StreamSink } from './link.js';
import { safeNumber, signalName, signalNumber } from './values.js';
import { sendWindowed, SendWindow } from './window.js';

export interface ExecStarted {
  /** The agent's id for the process; use it to attach after a disconnect. */
  readonly procId: number;
  /** Pid in the sandbox's pid namespace. */
  readonly pid: number;
  /** Output offset this stream starts at. */
  readonly offset: number;
}

export interface ExecExit {
  /** Exit status when the process exited; null when a signal ended it. */
  readonly exitCode: number | null;
  /** Name of the signal that ended it (`SIGKILL`), or null when it exited. */
  readonly signal: string | null;
  /** The exec's timeout killed it. */
  readonly timedOut: boolean;
  /** Length of the whole output sequence (stdout and stderr together). */
  readonly outputBytes: number;
}

/** Settings of one process stream, fixed when it opens. */
export interface ExecStreamSettings {
  readonly outputWindowBytes: number;
  readonly inputWindowBytes: number;
  /** Flow control was agreed in HELLO. */
  readonly credit: boolean;
  /** Output may skip ahead (keep = drop oldest), so gaps are not errors. */
  readonly gapsAllowed: boolean;
  /** What the caller asked for, for messages ("exec ls", "attach 4"). */
  readonly what: string;
}

/** A running process: its output, its stdin, signals, and its exit. */
export class ExecHandle implements StreamSink, AsyncIterable<OutputChunk> {
  readonly started: Promise<ExecStarted>;
  readonly #link: Link;
  readonly #settings: ExecStreamSettings;
  readonly #output: ExecOutput;
  readonly #gate: CreditGate;
  readonly #input: SendWindow;
  readonly #exit: Promise<ExecExit>;
  #stream = 0;
  #info: ExecStarted | undefined;
  #received = 0;
  #done = false;
  #writes: Promise<void> = Promise.resolve();
  #resolveStarted: (s: ExecStarted) => void = () => undefined;
  #rejectStarted: (err: unknown) => void = () => undefined;
  #resolveExit: (e: ExecExit) => void = () => undefined;
  #rejectExit: (err: unknown) => void = () => undefined;

  constructor(link: Link, settings: ExecStreamSettings) {
    this.#link = link;
    this.#settings = settings;
    this.#gate = new CreditGate(settings.outputWindowBytes, 0, settings.credit ? (o) => this.#credit(o) : undefined);
    this.#output = new ExecOutput(this.#gate);
    this.#input = new SendWindow(settings.credit ? settings.inputWindowBytes : Infinity);
    this.started = new Promise((resolve, reject) => {
      this.#resolveStarted = resolve;
      this.#rejectStarted = reject;
    });
    this.#exit = new Promise((resolve, reject) => {
      this.#resolveExit = resolve;
      this.#rejectExit = reject;
    });
    // Both are also reported through the output and wait(); a caller who awaits only one
    // of them must not get an unhandled rejection from the other.
    this.started.catch(() => undefined);
    this.#exit.catch(() => undefined);
  }

  /** Opens the stream and sends the request built for its id. */
  open(request: (stream: number) => Message): this {
    this.#stream = this.#link.openStream(this, request);
    return this;
  }

  /** Set once STARTED arrived. */
  get procId(): number | undefined {
    return this.#info?.procId;
  }

  /** Output chunks in order; iterate once, or use stdout/stderr instead. */
  get output(): AsyncIterable<OutputChunk> {
    return this.#output.iterable();
  }

  [Symbol.asyncIterator](): AsyncIterator<OutputChunk> {
    return this.#output.iterable()[Symbol.asyncIterator]();
  }

  get stdout(): Readable {
    return this.#output.streams().stdout;
  }

  get stderr(): Readable {
    return this.#output.streams().stderr;
  }

  /** Writes to the process's stdin (exec with `stdin: true`, or a pty), within the agent's window. */
  write(data: string | Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    return this.#serialise(() =>
      sendWindowed(bytes, this.#input, (chunk) => this.#link.sendData({ type: 'STDIN', stream: this.#stream, data: chunk }), opts.signal),
    );
  }

  /** Closes stdin after the pending writes. */
  end(): Promise<void> {
    return this.#serialise(async () => this.#link.send({ type: 'STDIN_EOF', stream: this.#stream }));
  }

  /** Sends a signal to the process group. A process that already exited is left alone. */
  signal(sig: NodeJS.Signals | number = 'SIGTERM'): void {
    const num = signalNumber(sig);
    if (!this.#done) this.#link.send({ type: 'SIGNAL', stream: this.#stream, fields: { signal: num } });
  }

  /** Tells the pty its new size (the process gets SIGWINCH). */
  resize(size: { rows: number; cols: number }): void {
    if (!this.#done) this.#link.send({ type: 'RESIZE', stream: this.#stream, fields: size });
  }

  /** Stops following the process; it keeps running and can be attached by `procId`. */
  detach(): void {
    if (this.#done) return;
    this.#link.send({ type: 'CLOSE', stream: this.#stream });
    this.#finish(new AgentError('failed_precondition', `${this.#settings.what}: detached; attach by procId to follow it again`), false);
  }

  /** Resolves when the process ended and all its output was delivered to this stream. */
  wait(): Promise<ExecExit> {
    return this.#exit;
  }

  onMessage(msg: Message): void {
    switch (msg.type) {
      case 'STARTED': return this.#onStarted(msg);
      case 'OUT_STDOUT':
      case 'OUT_STDERR': return this.#onOutput(msg);
      case 'CREDIT': return this.#input.credit(safeNumber(msg.fields.offset, 'CREDIT offset', msg.stream), msg.stream);
      case 'EXIT': return this.#onExit(msg);
      case 'ERROR': return this.#finish(AgentError.fromReply(this.#settings.what, msg.fields.errno, msg.fields.message), true);
      default: throw unexpected(msg);
    }
  }

  onClose(err: AgentError): void {
    this.#finish(err, true);
  }

  #onStarted(msg: MessageOf<'STARTED'>): void {
    if (this.#info !== undefined) throw unexpected(msg);
    const offset = safeNumber(msg.fields.offset, 'STARTED offset', msg.stream);
    this.#info = { procId: msg.fields.procId, pid: msg.fields.pid, offset };
    this.#received = offset;
    this.#gate.restart(offset);
    this.#resolveStarted(this.#info);
  }

  #onOutput(msg: MessageOf<'OUT_STDOUT' | 'OUT_STDERR'>): void {
    if (this.#info === undefined) throw unexpected(msg);
    const offset = safeNumber(msg.offset, `${msg.type} offset`, msg.stream);
    if (offset < this.#received || (offset > this.#received && !this.#settings.gapsAllowed)) {
      throw new ProtocolError('bad_value', `${msg.type} at ${offset}, expected ${this.#received}`, { stream: msg.stream });
    }
    const end = offset + msg.data.byteLength;
    this.#received = end;
    const data = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
    this.#output.deliver({ fd: msg.type === 'OUT_STDOUT' ? 1 : 2, data, offset }, end);
  }

  #onExit(msg: MessageOf<'EXIT'>): void {
    if (this.#info === undefined) throw unexpected(msg);
    const outputBytes = safeNumber(msg.fields.offset, 'EXIT offset', msg.stream);
    // The agent sends EXIT only after every byte of output (docs/protocol.md "Processes").
    if (outputBytes < this.#received || (outputBytes > this.#received && !this.#settings.gapsAllowed)) {
      throw new ProtocolError('bad_value', `EXIT at ${outputBytes} but output reached ${this.#received}`, { stream: msg.stream });
    }
    const term = msg.fields.termSignal ?? 0;
    const exit: ExecExit = {
      exitCode: term === 0 ? (msg.fields.exitCode ?? null) : null,
      signal: term === 0 ? null : signalName(term),
      timedOut: msg.fields.timedOut === 1,
      outputBytes,
    };
    this.#finish(undefined, false);
    this.#resolveExit(exit);
  }

  /** Ends the stream: `err` undefined = EXIT; otherwise started/wait reject with it. */
  #finish(err: AgentError | undefined, brokenOutput: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.#link.release(this.#stream);
    this.#output.finish(brokenOutput ? err : undefined);
    // Creating an Error captures a stack: only a write after the end needs this one.
    this.#input.fail(() => err ?? new AgentError('failed_precondition', `${this.#settings.what}: the process has exited`));
    if (err !== undefined) {
      this.#rejectStarted(err);
      this.#rejectExit(err);
    }
  }

  #credit(offset: number): void {
    if (!this.#done) this.#link.send({ type: 'CREDIT', stream: this.#stream, fields: { offset: BigInt(offset) } });
  }

  #serialise(op: () => Promise<void>): Promise<void> {
    const run = this.#writes.catch(() => undefined).then(() => {
      if (this.#done) throw new AgentError('failed_precondition', `${this.#settings.what}: the process stream has ended`);
      return op();
    });
    this.#writes = run;
    return run;
  }
}

function unexpected(msg: Message): ProtocolError {
  return new ProtocolError('unexpected_message', `${msg.type} on a process stream at this point`, { stream: msg.stream });
}
