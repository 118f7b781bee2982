// File streams: FREAD (DATA frames, then OK {size}) and FWRITE (WDATA within the agent's
// window, WEND, then OK {size}).
import type { Message, MessageOf } from '../codec.js';
import { ProtocolError } from '../errors.js';
import { okRow } from '../messages.js';
import { checkFields } from '../tlv.js';
import { AgentError } from './agent-error.js';
import { CreditGate, Inbound } from './inbound.js';
import type { Link, StreamSink } from './link.js';
import { safeNumber } from './values.js';
import { sendWindowed, SendWindow } from './window.js';

export interface FileReadSettings {
  readonly path: string;
  readonly offset: number;
  readonly lengthBytes: number | undefined;
  readonly windowBytes: number;
  /** The window tag is sent only when the caller chose one. */
  readonly windowChosen: boolean;
  readonly credit: boolean;
  readonly signal: AbortSignal | undefined;
}

/** A file being read: an async iterable of its bytes in order. */
export class FileReader implements StreamSink, AsyncIterable<Buffer> {
  readonly #link: Link;
  readonly #queue: Inbound<Buffer>;
  readonly #settings: FileReadSettings;
  #stream = 0;
  #received = 0;
  #done = false;

  constructor(link: Link, settings: FileReadSettings) {
    this.#link = link;
    this.#settings = settings;
    const gate = new CreditGate(settings.windowBytes, 0, settings.credit ? (o) => this.#credit(o) : undefined);
    this.#queue = new Inbound(gate);
  }

  open(): this {
    const s = this.#settings;
    s.signal?.throwIfAborted();
    this.#stream = this.#link.openStream(this, (stream) => ({
      type: 'FREAD',
      stream,
      fields: {
        path: s.path,
        offset: s.offset === 0 ? undefined : BigInt(s.offset),
        length: s.lengthBytes === undefined ? undefined : BigInt(s.lengthBytes),
        window: s.windowChosen ? s.windowBytes : undefined,
      },
    }));
    s.signal?.addEventListener('abort', this.#onAbort, { once: true });
    return this;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    const it = this.#queue[Symbol.asyncIterator]();
    return {
      next: () => it.next(),
      // Leaving a for-await loop early abandons the rest of the file.
      return: async () => {
        this.#cancel(new AgentError('failed_precondition', `read ${this.#settings.path}: reading stopped`));
        return { value: undefined, done: true };
      },
    };
  }

  onMessage(msg: Message): void {
    if (msg.type === 'DATA') return this.#onData(msg);
    if (msg.type === 'OK') return this.#onOk(msg);
    if (msg.type === 'ERROR') return this.#finish(AgentError.fromReply(`read ${this.#settings.path}`, msg.fields.errno, msg.fields.message));
    throw new ProtocolError('unexpected_message', `${msg.type} on a file read stream`, { stream: msg.stream });
  }

  onClose(err: AgentError): void {
    this.#finish(err);
  }

  #onData(msg: MessageOf<'DATA'>): void {
    const pos = safeNumber(msg.offset, 'DATA offset', msg.stream);
    if (pos !== this.#settings.offset + this.#received) {
      throw new ProtocolError('bad_value', `DATA at file position ${pos}, expected ${this.#settings.offset + this.#received}`, { stream: msg.stream });
    }
    this.#received += msg.data.byteLength;
    // CREDIT for FREAD counts bytes sent on the stream, not file positions (docs/protocol.md).
    this.#queue.push(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength), this.#received);
  }

  #onOk(msg: MessageOf<'OK'>): void {
    const size = okSize('FREAD', msg);
    if (size !== this.#received) {
      throw new ProtocolError('bad_value', `read OK reports ${size} bytes but ${this.#received} arrived`, { stream: msg.stream });
    }
    this.#finish(undefined);
  }

  #onAbort = (): void => this.#cancel(this.#settings.signal?.reason);

  #cancel(reason: unknown): void {
    if (this.#done) return;
    if (this.#link.closed === undefined) this.#link.send({ type: 'CLOSE', stream: this.#stream });
    this.#finish(reason);
  }

  #finish(err: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#link.release(this.#stream);
    this.#settings.signal?.removeEventListener('abort', this.#onAbort);
    if (err === undefined) this.#queue.end();
    else this.#queue.fail(err);
  }

  #credit(offset: number): void {
    if (!this.#done) this.#link.send({ type: 'CREDIT', stream: this.#stream, fields: { offset: BigInt(offset) } });
  }
}

export interface FileWriteSettings {
  readonly path: string;
  readonly mode: number | undefined;
  readonly flags: number;
  readonly inputWindowBytes: number;
  readonly signal: AbortSignal | undefined;
}

/** Writes `data` to a file through FWRITE and returns the byte count the agent wrote. */
export async function writeFileStream(link: Link, data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, s: FileWriteSettings): Promise<number> {
  s.signal?.throwIfAborted();
  const what = `write ${s.path}`;
  const window = new SendWindow(s.inputWindowBytes);
  let settle: { ok(size: number): void; fail(err: unknown): void } = { ok: () => undefined, fail: () => undefined };
  const reply = new Promise<number>((resolve, reject) => {
    settle = { ok: resolve, fail: reject };
  });
  reply.catch(() => undefined); // observed below; this only keeps an early ERROR from being "unhandled"
  const sink: StreamSink = {
    onMessage(msg: Message): void {
      if (msg.type === 'CREDIT') return window.credit(safeNumber(msg.fields.offset, 'CREDIT offset', msg.stream), msg.stream);
      link.release(msg.stream);
      if (msg.type === 'OK') return settle.ok(okSize('FWRITE', msg));
      if (msg.type !== 'ERROR') throw new ProtocolError('unexpected_message', `${msg.type} on a file write stream`, { stream: msg.stream });
      const err = AgentError.fromReply(what, msg.fields.errno, msg.fields.message);
      window.fail(() => err);
      settle.fail(err);
    },
    onClose(err: AgentError): void {
      window.fail(() => err);
      settle.fail(err);
    },
  };
  const stream = link.openStream(sink, (id) => ({ type: 'FWRITE', stream: id, fields: { path: s.path, mode: s.mode, flags: s.flags } }));
  try {
    for await (const chunk of data) {
      await sendWindowed(chunk, window, (c) => link.sendData({ type: 'WDATA', stream, data: c }), s.signal);
    }
    s.signal?.throwIfAborted();
    link.send({ type: 'WEND', stream });
  } catch (err) {
    link.release(stream);
    if (link.closed === undefined) link.send({ type: 'CLOSE', stream });
    // An ERROR from the agent, when one came first, is the better explanation of why
    // sending stopped; settling is first-wins.
    settle.fail(err);
    return await reply;
  }
  const size = await reply;
  if (size !== window.sentBytes) throw new AgentError('internal', `${what}: the agent wrote ${size} of ${window.sentBytes} bytes`);
  return size;
}

/** The `size` of an OK to FREAD/FWRITE, after checking the OK against its reply row. */
function okSize(request: 'FREAD' | 'FWRITE', msg: MessageOf<'OK'>): number {
  checkFields(okRow(request), msg.fields, `OK to ${request}`, msg.stream);
  return safeNumber(msg.fields.size ?? 0n, 'OK size', msg.stream);
}
