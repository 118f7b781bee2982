// A listener that hands out agent connections as raw sockets after the handshake, so a
// test can send bytes no well-behaved host would (fuzzing).
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeMessage, encodeMessage, FrameDecoder, MESSAGES, type Message } from '@shed/protocol';

export class RawConnection {
  readonly socket: Socket;
  readonly #decoder = new FrameDecoder();
  /** Everything the agent sent, decoded. */
  readonly received: Message[] = [];
  /** Set if the agent sent bytes that are not valid frames: never acceptable. */
  badOutput: unknown;
  #closed = false;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#decoder.push(chunk, (f) => this.received.push(decodeMessage(f)));
      } catch (err) {
        this.badOutput ??= err;
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (this.#closed = true));
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(bytes: Uint8Array): void {
    if (!this.#closed) this.socket.write(bytes);
  }

  /** Waits until `match` finds a message or the connection closed; false on timeout. */
  async until(match: (m: Message) => boolean, timeoutMs: number): Promise<'matched' | 'closed' | 'timeout'> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.received.length; seen++) {
        const m = this.received[seen];
        if (m !== undefined && match(m)) return 'matched';
      }
      if (this.#closed) return 'closed';
      if (Date.now() > deadline) return 'timeout';
      await sleep(2);
    }
  }
}

export class RawAgentServer {
  readonly #server: Server;
  readonly #waiting: Socket[] = [];

  private constructor(server: Server) {
    this.#server = server;
    server.on('connection', (s) => this.#waiting.push(s));
  }

  static async listen(path: string): Promise<RawAgentServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
    return new RawAgentServer(server);
  }

  /** The next agent connection, after its READY and a HELLO enabling what it offered. */
  async next(timeoutMs: number): Promise<RawConnection> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const socket = this.#waiting.shift();
      if (socket !== undefined) {
        const conn = new RawConnection(socket);
        if ((await conn.until((m) => m.type === 'READY', deadline - Date.now())) !== 'matched') {
          socket.destroy();
          throw new Error('the agent connected but sent no READY');
        }
        const ready = conn.received.shift();
        const caps = ready?.type === 'READY' ? ready.fields.caps & 0x3fn : 0n;
        conn.send(encodeMessage({ type: 'HELLO', stream: 0, fields: { version: 1, caps } }));
        return conn;
      }
      if (Date.now() > deadline) throw new Error('no agent connection in time');
      await sleep(1);
    }
  }

  async close(): Promise<void> {
    for (const s of this.#waiting.splice(0)) s.destroy();
    // Unlinks the socket at once; handed-out connections are their holders' to close.
    this.#server.close();
  }
}

/**
 * Message types a host sends after the handshake (a second HELLO is a protocol error, so
 * it appears only through mutation).
 */
// MESSAGES is declared `as const`: its keys are exactly the message names.
export const HOST_TYPES = (Object.keys(MESSAGES) as (keyof typeof MESSAGES)[]).filter((t) => MESSAGES[t].dir !== 'agent' && t !== 'HELLO');
