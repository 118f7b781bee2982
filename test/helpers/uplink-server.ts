// The uplink's servers for network tests, run inside the uplink netns by
// test/helpers/netns.ts: argv = [address, JSON UplinkServices]. Prints READY once every
// server listens, and QUERY <name> for each DNS question.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import dnsPacket from 'dns-packet';

interface Services {
  tcpPorts?: number[];
  dns?: Record<string, string>;
  sinkPort?: number;
}

const address = process.argv[2] ?? '';
const parsed: unknown = JSON.parse(process.argv[3] ?? '{}');
const services: Services = typeof parsed === 'object' && parsed !== null ? parsed : {}; // written by netns.ts from a typed value

const listening: Promise<void>[] = [];
for (const port of services.tcpPorts ?? []) {
  const server = createServer((c) => {
    c.on('error', () => undefined);
    c.end(`port ${port}\n`);
  });
  listening.push(new Promise((done) => server.listen(port, address, () => done())));
}

if (services.sinkPort !== undefined) {
  // Throughput: each connection sends a byte count (text line), gets that many bytes back.
  const chunk = Buffer.alloc(1 << 16, 120);
  // Half-open: busybox nc half-closes after sending the count; the answer must still flow.
  const sink = createServer({ allowHalfOpen: true }, (c) => {
    c.on('error', () => undefined);
    c.once('data', (d) => {
      let left = Number(d.toString().trim());
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!c.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void c.once('drain', pump);
        }
        c.end();
      };
      pump();
    });
  });
  listening.push(new Promise((done) => sink.listen(services.sinkPort, address, () => done())));
}

if (services.dns !== undefined) {
  const names = services.dns;
  /** The answer to one query, and the name asked (null for a message with no question). */
  const respond = (msg: Buffer): Buffer | null => {
    const q = dnsPacket.decode(msg);
    const question = q.questions?.[0];
    if (question === undefined) return null;
    process.stdout.write(`QUERY ${question.name}\n`);
    const ip = names[question.name];
    const answers = ip !== undefined && question.type === 'A' ? [{ type: 'A' as const, name: question.name, ttl: 60, data: ip }] : [];
    const flags = dnsPacket.RECURSION_AVAILABLE | (ip === undefined ? 3 : 0); // NXDOMAIN for unknown names
    return dnsPacket.encode({ type: 'response', id: q.id ?? 0, flags, questions: q.questions ?? [], answers });
  };
  const udp = createSocket('udp4');
  udp.on('message', (msg, peer) => {
    const reply = respond(msg);
    if (reply !== null) udp.send(reply, peer.port, peer.address);
  });
  listening.push(new Promise((done) => udp.bind(53, address, () => done())));
  // TCP: one framed query per connection (what a resolver's retry sends).
  const tcp = createServer((c) => {
    c.on('error', () => undefined);
    c.once('data', (d: Buffer) => {
      const reply = respond(d.subarray(2, 2 + d.readUInt16BE(0)));
      if (reply === null) return void c.destroy();
      c.end(Buffer.concat([Buffer.from([reply.length >> 8, reply.length & 0xff]), reply]));
    });
  });
  listening.push(new Promise((done) => tcp.listen(53, address, () => done())));
}

await Promise.all(listening);
process.stdout.write('READY\n');
