// One connection to an agent: frames in and out of a Duplex, demultiplexed by stream id.
// Everything above this file deals in typed messages and streams, never in bytes.
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { decodeMessage, encodeMessage, type Message, type RawFrame } from '../codec.js';
import { FrameDecoder } from '../decoder.js';
import { ProtocolError } from '../errors.js';
import { MESSAGES } from '../messages.js';
import { AgentError } from './agent-error.js';

/** Receives the agent's frames on one stream. */
export interface StreamSink {
  /** May throw a ProtocolError, which ends the connection. */
  onMessage(msg: Message): void;
  /** The connection is gone; the stream will get nothing more. */
  onClose(err: AgentError): void;
}

export interface LinkHandlers {
  /** Frames on stream 0 (READY, ERROR). */
  onControl(msg: Message): void;
  onClose(err: AgentError): void;
}

const MAX_STREAM_ID = 0xffff_ffff;
/** How long a closing connection may take to flush before it is destroyed. */
const FLUSH_GRACE_MS = 1000;

export class Link {
  readonly #duplex: Duplex;
  readonly #decoder = new FrameDecoder();
  readonly #sinks = new Map<number, StreamSink>();
  readonly #handlers: LinkHandlers;
  readonly #abort = new AbortController();
  // Ids are never reused while the connection lives: a frame still in flight for a closed
  // stream must not land on a new one.
  #nextStream = 1;
  #closed: AgentError | undefined;

  constructor(duplex: Duplex, handlers: LinkHandlers) {
    this.#duplex = duplex;
    this.#handlers = handlers;
    duplex.on('data', this.#onData);
    duplex.on('error', (err) => this.#close(new AgentError('unavailable', `agent connection failed: ${err.message}`, { cause: err })));
    duplex.on('end', () => this.#close(new AgentError('unavailable', 'the agent closed the connection')));
    duplex.on('close', () => this.#close(new AgentError('unavailable', 'the agent connection closed')));
  }

  /** Aborted when the connection is gone; its reason is the AgentError. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get closed(): AgentError | undefined {
    return this.#closed;
  }

  /** Registers `sink` under a fresh stream id and returns the id. */
  open(sink: StreamSink): number {
    this.#throwIfClosed();
    let id = this.#nextStream;
    while (this.#sinks.has(id)) id = id === MAX_STREAM_ID ? 1 : id + 1;
    this.#nextStream = id === MAX_STREAM_ID ? 1 : id + 1;
    this.#sinks.set(id, sink);
    return id;
  }

  /** Forgets a stream; later agent frames on it are ignored (docs/protocol.md). */
  release(stream: number): void {
    this.#sinks.delete(stream);
  }

  /**
   * Opens a stream for `sink` and sends the request `build` makes for it. A request that
   * cannot be encoded (a caller's bad value) leaves no stream behind.
   */
  openStream(sink: StreamSink, build: (stream: number) => Message): number {
    const stream = this.open(sink);
    try {
      this.send(build(stream));
    } catch (err) {
      this.release(stream);
      throw err;
    }
    return stream;
  }

  /** Queues one frame. Control frames are small and bounded by the caller's streams. */
  send(msg: Message): void {
    this.#throwIfClosed();
    this.#duplex.write(encode(msg));
  }

  /** Sends a data frame and waits while the transport's own buffer is full. */
  async sendData(msg: Message): Promise<void> {
    this.send(msg);
    if (this.#duplex.writableNeedDrain) {
      await once(this.#duplex, 'drain', { signal: this.#abort.signal }).catch(() => this.#throwIfClosed());
    }
  }

  /** Ends the connection; streams get `unavailable`. */
  async close(): Promise<void> {
    if (this.#closed === undefined) {
      this.#close(new AgentError('unavailable', 'the agent connection was closed by this host'));
    }
    if (!this.#duplex.closed) await once(this.#duplex, 'close').catch(() => undefined);
  }

  /** Reports a protocol error to the agent (ERROR EPROTO on stream 0) and ends the connection. */
  fail(err: unknown): void {
    if (this.#closed !== undefined) return;
    const proto = err instanceof ProtocolError ? err : undefined;
    if (proto !== undefined && proto.code !== 'peer_error') {
      try {
        this.#duplex.write(encode({ type: 'ERROR', stream: 0, fields: { errno: 'EPROTO', message: proto.message.slice(0, 1000) } }));
      } catch {
        // The report is a courtesy; the connection is closed either way.
      }
    }
    const text = err instanceof Error ? err.message : String(err);
    const code = proto !== undefined ? 'unavailable' : 'internal';
    this.#close(new AgentError(code, `agent connection ended: ${text}`, { cause: err }));
  }

  #onData = (chunk: Buffer): void => {
    try {
      this.#decoder.push(chunk, this.#onFrame);
    } catch (err) {
      this.fail(err);
    }
  };

  #onFrame = (frame: RawFrame): void => {
    if (this.#closed !== undefined) return;
    const msg = decodeMessage(frame);
    if (MESSAGES[msg.type].dir === 'host') {
      throw new ProtocolError('unexpected_message', `${msg.type} is a host message`, { stream: msg.stream });
    }
    if (msg.stream === 0) this.#handlers.onControl(msg);
    else this.#sinks.get(msg.stream)?.onMessage(msg);
  };

  #close(err: AgentError): void {
    if (this.#closed !== undefined) return;
    this.#closed = err;
    this.#duplex.off('data', this.#onData);
    // Flush what was queued (an EPROTO report), then drop the connection; a peer that stops
    // reading must not keep it open, hence the timer.
    const destroy = (): void => void this.#duplex.destroy();
    this.#duplex.end(destroy);
    setTimeout(destroy, FLUSH_GRACE_MS).unref();
    const sinks = [...this.#sinks.values()];
    this.#sinks.clear();
    this.#abort.abort(err);
    for (const s of sinks) s.onClose(err);
    this.#handlers.onClose(err);
  }

  #throwIfClosed(): void {
    if (this.#closed !== undefined) throw this.#closed;
  }
}

/** Every field value the host sends comes from this side; one the codec refuses was a caller's. */
function encode(msg: Message): Buffer {
  try {
    return encodeMessage(msg);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    throw new AgentError('invalid_argument', `cannot send ${msg.type}: ${text}`, { cause: err });
  }
}
