// Fuzzes the live agent: valid request streams with mutated frames mixed in, sent over real
// connections. After a protocol error the agent must close and reconnect; whatever happens,
// it must stay alive, keep answering PING and only ever send well-formed frames. The agent
// runs jailed (helpers/jail.ts) since mutated paths may point anywhere.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { access } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { encodeMessage, MESSAGES, type Message, type MessageName, type TagName } from '@shed/protocol';
import { mutateFrame, randomFrame, Rng } from '@shed/protocol/testing';
import { AGENT_ASAN_BINARY, AGENT_BINARY, agentUnavailable, launchAgent } from '../helpers/agent.js';
import { assertNoLeaks } from '../helpers/leaks.js';
import { isRunning } from '../helpers/procs.js';
import { HOST_TYPES, RawAgentServer, type RawConnection } from '../helpers/raw-server.js';

const FRAMES = 100_000;
/** A stream id no batch reaches (a batch opens at most a few hundred). */
const PING_STREAM = 0x7fff_0000;
const SANITIZER_REPORT = /AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/;

/** Values that keep requests inside the jail's world and make some of them succeed. */
function str(r: Rng, tag: TagName): string {
  switch (tag) {
    case 'path': case 'path2': case 'cwd':
      return r.chance(0.8) ? `/scratch/${r.pick(['a', 'b', 'c/d', 'e/f/g', ''])}` : r.pick(['/', '/scratch', 'rel', '/proc/self/status']);
    case 'argv': return r.pick(['/shed-agent', '--version', 'x', '/missing']);
    case 'env': return r.pick(['A=1', 'PATH=/', 'B=', 'NOEQUALS']);
    default: return r.pick(['', 'x', 'shed-fuzz', 'EIO']);
  }
}

type StreamKind = 'process' | 'fread' | 'fwrite' | 'other';
const KIND: Partial<Record<MessageName, StreamKind>> = { EXEC: 'process', ATTACH: 'process', FREAD: 'fread', FWRITE: 'fwrite' };
/** Frames that belong on an open stream of each kind (any other is a protocol error there). */
const FOLLOW_UPS: Record<StreamKind, MessageName[]> = {
  process: ['STDIN', 'STDIN_EOF', 'SIGNAL', 'RESIZE', 'CREDIT', 'CLOSE'],
  fread: ['CREDIT', 'CLOSE'],
  fwrite: ['WDATA', 'WEND', 'CLOSE'],
  other: ['CLOSE'],
};
const REQUESTS = HOST_TYPES.filter((t) => MESSAGES[t].opens);
const CONTROL = HOST_TYPES.filter((t) => !MESSAGES[t].opens);

/**
 * Valid frames as a host could send them: requests on fresh streams, follow-ups of the
 * right kind on streams opened before, and follow-ups on streams the agent does not know
 * (which it must ignore). Every type and tag still comes out of the generator's tables.
 */
class Session {
  readonly #open: { stream: number; kind: StreamKind }[] = [];
  #nextStream = 1;

  frame(rng: Rng): Buffer {
    const gen = (types: MessageName[], stream: number): Buffer =>
      randomFrame(rng, { types, streams: [stream], str, maxDataBytes: 4096 });
    if (this.#open.length === 0 || rng.chance(0.4)) {
      const type = rng.pick(REQUESTS);
      const stream = this.#nextStream++;
      this.#open.push({ stream, kind: KIND[type] ?? 'other' });
      return gen([type], stream);
    }
    if (rng.chance(0.2)) return gen(CONTROL, this.#nextStream + 1000 + rng.below(1000));
    const target = rng.pick(this.#open);
    return gen(FOLLOW_UPS[target.kind], target.stream);
  }
}

function describeEnd(conn: RawConnection): string {
  const err = conn.received.find((m) => m.type === 'ERROR' && m.stream === 0);
  return err?.type === 'ERROR' ? `${err.fields.errno} ${err.fields.message ?? ''}` : 'closed without a report';
}

function ping(): Buffer {
  const msg: Message = { type: 'PING', stream: PING_STREAM, fields: {} };
  return encodeMessage(msg);
}

interface Tally {
  frames: number;
  /** Batches the agent read through to the PING. */
  answered: number;
  /** Batches that ended in a protocol error (ERROR EPROTO, then close). */
  rejected: number;
  /** Batches that needed the zero filler to finish a mutated length. */
  filled: number;
}

/** One connection's worth: a batch of frames, then a PING, then the outcome. */
async function oneBatch(conn: RawConnection, rng: Rng, tally: Tally): Promise<void> {
  const n = 20 + rng.below(380);
  // Some batches clean, some with a rare or a frequent mutation: a mutated frame usually
  // ends the session, so the frames before it are what the agent gets to serve.
  const mutationRate = rng.pick([0, 0.002, 0.01, 0.05]);
  const session = new Session();
  const frames: Buffer[] = [];
  let mutated = 0;
  for (let i = 0; i < n; i++) {
    const f = session.frame(rng);
    if (!rng.chance(mutationRate)) {
      frames.push(f);
      continue;
    }
    // Splice partners are sometimes of any type, agent-only ones included.
    frames.push(mutateFrame(rng, f, rng.chance(0.2) ? randomFrame(rng) : session.frame(rng)));
    mutated++;
  }
  frames.push(ping());
  conn.send(Buffer.concat(frames));
  const answered = (m: Message): boolean => m.stream === PING_STREAM && (m.type === 'OK' || m.type === 'ERROR');
  let outcome = await conn.until(answered, 300);
  if (outcome === 'timeout') {
    tally.filled++;
    // A mutated length may leave the agent waiting for a payload that is never coming.
    // Complete it with zeros; a zero header after it is an unknown type and ends the session.
    conn.send(Buffer.alloc(1_048_576 + 12));
    outcome = await conn.until(answered, 5000);
  }
  assert.notEqual(outcome, 'timeout', 'the agent neither answered PING nor closed the connection');
  if (mutated === 0) assert.equal(outcome, 'matched', `valid traffic ended the session: ${describeEnd(conn)}`);
  assert.equal(conn.badOutput, undefined, `the agent sent a malformed frame: ${String(conn.badOutput)}`);
  if (outcome === 'matched') tally.answered++;
  else if (conn.received.some((m) => m.type === 'ERROR' && m.stream === 0 && m.fields.errno === 'EPROTO')) tally.rejected++;
  conn.socket.destroy();
  tally.frames += n;
}

async function fuzzAgent(binary: string): Promise<void> {
  const seed = Number(process.env.SHED_FUZZ_SEED ?? randomInt(0x7fff_ffff));
  console.log(`live fuzz of ${binary}: seed ${seed} (set SHED_FUZZ_SEED to replay)`);
  const rng = new Rng(seed);
  const { agent, listener } = await launchAgent({ binary, jail: true }, RawAgentServer.listen);
  try {
    const tally: Tally = { frames: 0, answered: 0, rejected: 0, filled: 0 };
    let connections = 0;
    const start = performance.now();
    while (tally.frames < FRAMES) {
      const conn = await Promise.race([listener.next(5000), agent.exited]);
      if (connections === 0) await agent.findAgentPid();
      connections++;
      await oneBatch(conn, rng, tally);
    }
    const pid = await agent.findAgentPid();
    assert.ok(await isRunning(pid), 'the agent died');
    const last = await listener.next(5000);
    last.send(ping());
    assert.equal(await last.until((m) => m.type === 'OK' && m.stream === PING_STREAM, 5000), 'matched', 'no PING answer after fuzzing');
    last.socket.destroy();
    const s = (performance.now() - start) / 1000;
    console.log(`live fuzz: ${tally.frames} frames over ${connections} connections in ${s.toFixed(1)} s: ` +
      `${tally.answered} batches read through, ${tally.rejected} ended by a protocol error (${tally.filled} of them mid-payload); agent alive`);
    // Both outcomes must be common, or the mix is not exercising the agent.
    assert.ok(tally.answered > connections / 10 && tally.rejected > connections / 10, JSON.stringify(tally));
    assert.doesNotMatch(agent.stderr(), SANITIZER_REPORT);
  } finally {
    await agent.stop();
  }
}

const skip = await agentUnavailable();
const asanSkip = skip ?? (await access(AGENT_ASAN_BINARY).then(() => undefined, () => `${AGENT_ASAN_BINARY} is missing: build it with 'make -C agent asan'`));

describe('live agent fuzz', () => {
  after(assertNoLeaks);
  it(`the agent survives ${FRAMES} random and mutated frames`, { skip }, () => fuzzAgent(AGENT_BINARY));
  it(`the ASan build survives the same with no sanitizer report`, { skip: asanSkip }, () => fuzzAgent(AGENT_ASAN_BINARY));
});
