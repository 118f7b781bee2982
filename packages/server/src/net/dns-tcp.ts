// DNS over TCP for the forwarder (RFC 7766 framing: each message after its two-byte length).
// A resolver retries over TCP when a UDP answer comes back truncated, so a name with a large
// answer (many addresses, long TXT records) resolves only when the forwarder speaks TCP too.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpListenOptions {
  readonly address: string;
  readonly port: number;
  /** Answers one query (a SERVFAIL when no upstream did). */
  readonly answer: (query: Buffer) => Promise<Buffer>;
  /** Whether a message is a query worth forwarding; anything else ends the connection. */
  readonly isQuery: (msg: Buffer) => boolean;
  /** Open connections at once; more are refused. @default 64 */
  readonly maxConnections?: number;
  /** A connection with no query for this long is closed. @default 10000 */
  readonly idleMs?: number;
}

/** Splits a TCP byte stream into DNS messages; a partial one waits for the rest (at most 64 KiB, the length field's reach). */
export class MessageFramer {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: Buffer[] = [];
    while (this.#pending.length >= 2) {
      const end = 2 + this.#pending.readUInt16BE(0);
      if (this.#pending.length < end) break;
      out.push(this.#pending.subarray(2, end));
      this.#pending = this.#pending.subarray(end);
    }
    return out;
  }
}

export function framed(msg: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(msg.length);
  return Buffer.concat([length, msg]);
}

/** Listens for DNS over TCP; queries on one connection are answered in the order they came. */
export async function listenTcp(opts: TcpListenOptions): Promise<{ server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveConnection(socket, opts);
  });
  server.maxConnections = opts.maxConnections ?? 64;
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(opts.port, opts.address, () => {
      server.off('error', fail);
      done();
    });
  });
  return { server, sockets };
}

function serveConnection(socket: Socket, opts: TcpListenOptions): void {
  const framer = new MessageFramer();
  let queue = Promise.resolve();
  socket.setTimeout(opts.idleMs ?? 10_000, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    for (const msg of framer.push(chunk)) {
      if (!opts.isQuery(msg)) return void socket.destroy();
      queue = queue.then(async () => {
        const reply = await opts.answer(msg);
        if (!socket.destroyed) socket.write(framed(reply));
      });
    }
  });
}

/** One query to one upstream over TCP; null on timeout, a refused or dropped connection, or a mismatched id. */
export function askTcp(upstream: string, port: number, query: Buffer, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((done) => {
    const framer = new MessageFramer();
    const s = connect({ host: upstream, port });
    const finish = (v: Buffer | null): void => {
      clearTimeout(timer);
      s.destroy();
      done(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    s.on('error', () => finish(null));
    s.on('close', () => finish(null));
    s.on('data', (chunk: Buffer) => {
      const [reply] = framer.push(chunk);
      if (reply !== undefined) finish(reply.length >= 2 && reply.readUInt16BE(0) === query.readUInt16BE(0) ? reply : null);
    });
    s.write(framed(query));
  });
}
