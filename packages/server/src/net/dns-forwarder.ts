// A small DNS forwarder on the bridge address, so sandboxes resolve through the host's
// nameservers even when those are loopback addresses (systemd-resolved, dnsmasq) that a
// sandbox's netns cannot reach. UDP, and TCP (net/dns-tcp.ts) for the client's retry after a
// truncated answer, each forwarded upstream over the transport it came on. Queries are
// checked with dns-packet before they leave; answers are relayed as the upstream sent them,
// after an id check.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6, type Server, type Socket as TcpSocket } from 'node:net';
import dnsPacket from 'dns-packet';
import { askTcp, listenTcp } from './dns-tcp.js';
import { readNameservers } from './resolv.js';

export interface DnsForwarderOptions {
  /** The bridge address to listen on (port 53). */
  readonly address: string;
  /** resolv.conf naming the upstreams; re-read at most every `rereadMs`. */
  readonly resolvConf: string;
  /** How long one upstream gets before the next is tried. @default 2000 */
  readonly upstreamTimeoutMs?: number;
  /** Queries in flight at once; more are dropped (the client retries). @default 512 */
  readonly maxInFlight?: number;
  /** TCP connections open at once; more are refused. @default 64 */
  readonly maxTcpConnections?: number;
  readonly log?: { warn(obj: object, msg: string): void };
}

const DNS_PORT = 53;
const REREAD_MS = 5_000;
const MAX_UDP = 4096;

type Transport = 'udp' | 'tcp';

export class DnsForwarder {
  readonly #opts: DnsForwarderOptions;
  readonly #socket: Socket;
  #tcp: { server: Server; sockets: Set<TcpSocket> } | undefined;
  #upstreams: { list: string[]; at: number } = { list: [], at: 0 };
  #inFlight = 0;

  private constructor(opts: DnsForwarderOptions, socket: Socket) {
    this.#opts = opts;
    this.#socket = socket;
    socket.on('message', (msg, rinfo) => void this.#answerUdp(msg, rinfo.address, rinfo.port));
  }

  static async start(opts: DnsForwarderOptions): Promise<DnsForwarder> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((done, fail) => {
      socket.once('error', fail);
      socket.bind(DNS_PORT, opts.address, () => {
        socket.off('error', fail);
        done();
      });
    });
    socket.on('error', (err) => opts.log?.warn({ err: err.message }, 'DNS forwarder socket error'));
    const forwarder = new DnsForwarder(opts, socket);
    try {
      forwarder.#tcp = await listenTcp({
        address: opts.address, port: DNS_PORT, isQuery, maxConnections: opts.maxTcpConnections ?? 64,
        answer: (query) => forwarder.#answer(query, 'tcp'),
      });
    } catch (err) {
      await forwarder.close();
      throw err;
    }
    return forwarder;
  }

  async close(): Promise<void> {
    const tcp = this.#tcp;
    for (const s of tcp?.sockets ?? []) s.destroy();
    await Promise.all([
      new Promise<void>((done) => this.#socket.close(() => done())),
      tcp === undefined ? undefined : new Promise<void>((done) => tcp.server.close(() => done())),
    ]);
  }

  async #answerUdp(query: Buffer, host: string, port: number): Promise<void> {
    if (this.#inFlight >= (this.#opts.maxInFlight ?? 512) || !isQuery(query)) return;
    this.#socket.send(await this.#answer(query, 'udp'), port, host);
  }

  async #answer(query: Buffer, transport: Transport): Promise<Buffer> {
    this.#inFlight++;
    try {
      return (await this.#forward(query, transport)) ?? servfail(query);
    } finally {
      this.#inFlight--;
    }
  }

  async #forward(query: Buffer, transport: Transport): Promise<Buffer | null> {
    const timeoutMs = this.#opts.upstreamTimeoutMs ?? 2_000;
    for (const upstream of await this.#upstreamList()) {
      const reply = transport === 'udp' ? await ask(upstream, query, timeoutMs) : await askTcp(upstream, DNS_PORT, query, timeoutMs);
      if (reply !== null) return reply;
    }
    return null;
  }

  async #upstreamList(): Promise<string[]> {
    if (Date.now() - this.#upstreams.at > REREAD_MS) {
      // Never ourselves: a host whose resolv.conf names the bridge address would loop.
      const list = (await readNameservers(this.#opts.resolvConf)).filter((a) => a !== this.#opts.address);
      this.#upstreams = { list, at: Date.now() };
    }
    return this.#upstreams.list;
  }
}

function isQuery(msg: Buffer): boolean {
  try {
    const p = dnsPacket.decode(msg);
    return p.type === 'query' && (p.questions?.length ?? 0) > 0;
  } catch {
    return false;
  }
}

/** One query to one upstream on a fresh socket (a fresh source port per query); null on timeout or a mismatched id. */
function ask(upstream: string, query: Buffer, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((done) => {
    const s = createSocket(isIPv6(upstream.split('%')[0] ?? '') ? 'udp6' : 'udp4');
    const finish = (v: Buffer | null): void => {
      clearTimeout(timer);
      s.close();
      done(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    s.on('error', () => finish(null));
    s.on('message', (msg) => {
      if (msg.length >= 2 && msg.length <= MAX_UDP && msg.readUInt16BE(0) === query.readUInt16BE(0)) finish(msg);
    });
    s.send(query, DNS_PORT, upstream);
  });
}

/** SERVFAIL for a query no upstream answered (no nameserver configured, all timed out). */
function servfail(query: Buffer): Buffer {
  const q = dnsPacket.decode(query);
  return dnsPacket.encode({ type: 'response', id: q.id ?? 0, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | 2, questions: q.questions ?? [] });
}
