// TCP_CONNECT streams (docs/protocol.md "TCP connections"): a connection to a port inside
// the sandbox, as a Node Duplex. Sandbox→host bytes are acknowledged only once the
// readable side has room (push() said so, or _read asked), so a slow consumer holds at most
// one window plus the readable buffer; host→sandbox writes wait for the agent's window.
import { Duplex } from 'node:stream';
import type { Message, MessageOf } from '../codec.js';
import { ProtocolError } from '../errors.js';
import { okRow } from '../messages.js';
import { checkFields } from '../tlv.js';
import { AgentError } from './agent-error.js';
import { CreditGate } from './inbound.js';
import type { Link, StreamSink } from './link.js';
import { safeNumber } from './values.js';
import { sendWindowed, SendWindow } from './window.js';

export interface TcpSettings {
  readonly port: number;
  readonly addr: string | undefined;
  readonly windowBytes: number;
  /** The window tag is sent only when the caller chose one. */
  readonly windowChosen: boolean;
  readonly credit: boolean;
  readonly inputWindowBytes: number;
}

interface Pending {
  resolve(s: AgentTcpStream): void;
  reject(err: unknown): void;
}

/** A TCP connection to a port in the sandbox, carried by the agent. */
export class AgentTcpStream extends Duplex implements StreamSink {
  /** The sandbox port connected to. */
  readonly remotePort: number;
  /** The address inside the sandbox the agent connected to (e.g. 127.0.0.1 or ::1). */
  remoteAddress: string | undefined;
  readonly #link: Link;
  readonly #settings: TcpSettings;
  readonly #gate: CreditGate;
  readonly #window: SendWindow;
  #stream = 0;
  #received = 0;
  #paused = false;
  #done = false;
  #pending: Pending | undefined;

  private constructor(link: Link, settings: TcpSettings) {
    super({ allowHalfOpen: true });
    this.#link = link;
    this.#settings = settings;
    this.remotePort = settings.port;
    this.#gate = new CreditGate(settings.windowBytes, 0, settings.credit ? (o) => this.#credit(o) : undefined);
    this.#window = new SendWindow(settings.inputWindowBytes);
  }

  /** Opens the stream and resolves once the agent connected (ERROR: the AgentError, e.g. ECONNREFUSED). */
  static connect(link: Link, settings: TcpSettings, signal?: AbortSignal): Promise<AgentTcpStream> {
    signal?.throwIfAborted();
    const s = new AgentTcpStream(link, settings);
    return new Promise<AgentTcpStream>((resolve, reject) => {
      const onAbort = (): void => {
        s.destroy(signal?.reason instanceof Error ? signal.reason : new AgentError('unavailable', 'aborted'));
      };
      const settle = (): void => signal?.removeEventListener('abort', onAbort);
      s.#pending = {
        resolve: (v) => {
          settle();
          resolve(v);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      };
      s.#stream = link.openStream(s, (stream) => ({
        type: 'TCP_CONNECT',
        stream,
        fields: { port: settings.port, addr: settings.addr, window: settings.windowChosen ? settings.windowBytes : undefined },
      }));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  onMessage(msg: Message): void {
    switch (msg.type) {
      case 'CONNECTED': return this.#onConnected(msg);
      case 'DATA': return this.#onData(msg);
      case 'EOF': return void this.push(null);
      case 'CREDIT': return this.#window.credit(safeNumber(msg.fields.offset, 'CREDIT offset', msg.stream), msg.stream);
      case 'OK': return this.#onOk(msg);
      case 'ERROR': return this.#fail(AgentError.fromReply(this.#what(), msg.fields.errno, msg.fields.message));
      default:
        throw new ProtocolError('unexpected_message', `${msg.type} on a TCP stream`, { stream: msg.stream });
    }
  }

  onClose(err: AgentError): void {
    this.#fail(err);
  }

  override _read(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#gate.consumed(this.#received);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    sendWindowed(chunk, this.#window, (c) => this.#link.sendData({ type: 'WDATA', stream: this.#stream, data: c })).then(
      () => cb(),
      (err: unknown) => cb(asError(err)),
    );
  }

  override _final(cb: (err?: Error | null) => void): void {
    try {
      if (!this.#done) this.#link.send({ type: 'WEND', stream: this.#stream });
      cb();
    } catch (err) {
      cb(asError(err));
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.#done) {
      this.#done = true;
      this.#link.release(this.#stream);
      // Abandoned before both sides closed: the agent resets the sandbox side.
      if (this.#link.closed === undefined) this.#link.send({ type: 'CLOSE', stream: this.#stream });
    }
    const reason = err ?? new AgentError('unavailable', `${this.#what()}: the connection was closed`);
    this.#window.fail(() => reason);
    this.#pending?.reject(reason);
    this.#pending = undefined;
    cb(err);
  }

  #onConnected(msg: MessageOf<'CONNECTED'>): void {
    this.remoteAddress = msg.fields.addr;
    const p = this.#pending;
    this.#pending = undefined;
    p?.resolve(this);
  }

  #onData(msg: MessageOf<'DATA'>): void {
    const pos = safeNumber(msg.offset, 'DATA offset', msg.stream);
    if (pos !== this.#received) {
      throw new ProtocolError('bad_value', `DATA at offset ${pos}, expected ${this.#received}`, { stream: msg.stream });
    }
    this.#received += msg.data.byteLength;
    if (this.push(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength))) this.#gate.consumed(this.#received);
    else this.#paused = true;
  }

  #onOk(msg: MessageOf<'OK'>): void {
    checkFields(okRow('TCP_CONNECT'), msg.fields, 'OK to TCP_CONNECT', msg.stream);
    const size = safeNumber(msg.fields.size ?? 0n, 'OK size', msg.stream);
    if (size !== this.#received) {
      throw new ProtocolError('bad_value', `TCP OK reports ${size} bytes but ${this.#received} arrived`, { stream: msg.stream });
    }
    // Both directions are closed (EOF came, WEND went): the agent forgot the stream.
    this.#done = true;
    this.#link.release(this.#stream);
  }

  #fail(err: AgentError): void {
    this.#done = true;
    this.#link.release(this.#stream);
    const p = this.#pending;
    this.#pending = undefined;
    // Before CONNECTED nobody holds the stream: the error belongs to the promise only.
    if (p !== undefined) {
      p.reject(err);
      this.destroy();
    } else {
      this.destroy(err);
    }
  }

  #credit(offset: number): void {
    if (!this.#done) this.#link.send({ type: 'CREDIT', stream: this.#stream, fields: { offset: BigInt(offset) } });
  }

  #what(): string {
    return `connect to port ${this.#settings.port}`;
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new AgentError('internal', String(err));
}
