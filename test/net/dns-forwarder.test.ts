// The DNS forwarder on real sockets, on loopback addresses only (127.77.0.x): a fake upstream
// answers a name with 60 addresses in full over TCP and truncated over UDP, as a real server
// does past 512 bytes. The forwarder relays the truncated UDP answer, serves the client's TCP
// retry (pipelined and split queries included), answers SERVFAIL when no upstream does, and
// closes bad and idle connections without falling over.
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { DnsForwarder } from '@shed/server';
import { leakCheckedTempDir, useLeakCheck } from '../helpers/leaks.js';

const FORWARDER = '127.77.0.1';
const UPSTREAM = '127.77.0.2';
const SILENT = '127.77.0.3';
const BIG = 'big.shed.test';
const ADDRESSES = Array.from({ length: 60 }, (_, i) => `10.9.${i}.1`);

const skip = process.getuid?.() === 0 ? undefined : 'needs root (binds port 53 on loopback addresses)';
if (skip !== undefined) console.log(`# DNS forwarder tests skipped: ${skip}`);
useLeakCheck();

function query(id: number, name = BIG): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
}

function answer(q: Buffer, truncated: boolean): Buffer {
  const p = dnsPacket.decode(q);
  const answers = truncated ? [] : ADDRESSES.map((data) => ({ type: 'A' as const, name: BIG, ttl: 60, data }));
  return dnsPacket.encode({ type: 'response', id: p.id ?? 0, flags: truncated ? dnsPacket.TRUNCATED_RESPONSE : 0, questions: p.questions ?? [], answers });
}

const framed = (msg: Buffer): Buffer => Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg]);

/** The fake upstream: UDP answers truncated, TCP answers in full. */
async function startUpstream(): Promise<{ udp: UdpSocket; tcp: Server }> {
  const udp = createSocket('udp4');
  udp.on('message', (msg, peer) => udp.send(answer(msg, true), peer.port, peer.address));
  udp.bind(53, UPSTREAM);
  await once(udp, 'listening');
  const tcp = createServer((c) => {
    c.on('error', () => undefined);
    c.once('data', (d: Buffer) => c.end(framed(answer(d.subarray(2, 2 + d.readUInt16BE(0)), false))));
  });
  tcp.listen(53, UPSTREAM);
  await once(tcp, 'listening');
  return { udp, tcp };
}

async function askUdp(q: Buffer): Promise<dnsPacket.Packet> {
  const s = createSocket('udp4');
  try {
    s.send(q, 53, FORWARDER);
    const [msg] = (await once(s, 'message')) as [Buffer];
    return dnsPacket.decode(msg);
  } finally {
    s.close();
  }
}

/** Writes `chunks` on one connection and reads `count` framed replies. */
async function askTcp(chunks: readonly Buffer[], count: number): Promise<dnsPacket.Packet[]> {
  const s = connect(53, FORWARDER);
  await once(s, 'connect');
  let data = Buffer.alloc(0);
  const replies: dnsPacket.Packet[] = [];
  const done = new Promise<void>((resolve, reject) => {
    s.on('error', reject);
    s.on('close', () => reject(new Error(`the connection closed after ${replies.length} of ${count} replies`)));
    s.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      while (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        replies.push(dnsPacket.decode(data.subarray(2, 2 + data.readUInt16BE(0))));
        data = data.subarray(2 + data.readUInt16BE(0));
      }
      if (replies.length === count) resolve();
    });
  });
  for (const c of chunks) {
    s.write(c);
    await new Promise((r) => setImmediate(r));
  }
  try {
    await done;
    return replies;
  } finally {
    s.destroy();
  }
}

describe('DNS forwarder (UDP and TCP, loopback only)', { skip }, () => {
  let upstream: { udp: UdpSocket; tcp: Server };
  let forwarder: DnsForwarder;
  let resolvConf: string;

  before(async () => {
    const dir = await leakCheckedTempDir('shed-dns-');
    resolvConf = join(dir, 'resolv.conf');
    await writeFile(resolvConf, `nameserver ${UPSTREAM}\n`);
    upstream = await startUpstream();
    forwarder = await DnsForwarder.start({ address: FORWARDER, resolvConf, upstreamTimeoutMs: 1000 });
  });

  after(async () => {
    await forwarder?.close();
    upstream?.udp.close();
    upstream?.tcp.close();
  });

  it('relays a truncated UDP answer as it came, so the client retries over TCP', async () => {
    const r = await askUdp(query(0x1234));
    assert.equal(r.id, 0x1234);
    assert.ok(((r.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE) !== 0, 'the TC bit is kept');
    assert.equal(r.answers?.length ?? 0, 0);
  });

  it('answers the TCP retry in full', async () => {
    const [r] = await askTcp([framed(query(0x4321))], 1);
    assert.equal(r?.id, 0x4321);
    assert.deepEqual(r?.answers?.map((a) => (a.type === 'A' ? a.data : a.type)), ADDRESSES);
  });

  it('answers queries pipelined on one connection, and one split across writes, in order', async () => {
    const both = Buffer.concat([framed(query(1)), framed(query(2))]);
    const third = framed(query(3));
    const replies = await askTcp([both, third.subarray(0, 1), third.subarray(1, 9), third.subarray(9)], 3);
    assert.deepEqual(replies.map((r) => r.id), [1, 2, 3]);
    assert.ok(replies.every((r) => r.answers?.length === ADDRESSES.length));
  });

  it('closes a connection that sends something other than a query, and keeps serving', async () => {
    await assert.rejects(askTcp([framed(Buffer.from('not a dns message'))], 1), /closed after 0 of 1/);
    const [r] = await askTcp([framed(query(7))], 1);
    assert.equal(r?.answers?.length, ADDRESSES.length);
  });

  it('answers SERVFAIL over TCP when no upstream answers', async () => {
    await writeFile(resolvConf, `nameserver ${SILENT}\n`);
    const silent = await DnsForwarder.start({ address: '127.77.0.4', resolvConf, upstreamTimeoutMs: 300 });
    try {
      const s = connect(53, '127.77.0.4');
      await once(s, 'connect');
      s.write(framed(query(9)));
      const [d] = (await once(s, 'data')) as [Buffer];
      s.destroy();
      const r = dnsPacket.decode(d.subarray(2));
      assert.equal(r.id, 9);
      assert.equal((r.flags ?? 0) & 0xf, 2, 'rcode SERVFAIL');
    } finally {
      await silent.close();
      await writeFile(resolvConf, `nameserver ${UPSTREAM}\n`);
    }
  });

  it('close() ends open connections and frees both ports', async () => {
    const extra = await DnsForwarder.start({ address: '127.77.0.5', resolvConf });
    const s: Socket = connect(53, '127.77.0.5');
    await once(s, 'connect');
    const closed = once(s, 'close');
    await extra.close();
    await closed;
    const again = await DnsForwarder.start({ address: '127.77.0.5', resolvConf });
    await again.close();
  });
});
