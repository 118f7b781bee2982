// A scripted agent for the client's unit tests: it speaks frames over a real unix socket
// and lets a test send any message and await what the host sends.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMessage, encodeMessage, type Message, type MessageOf } from '../codec.js';
import { FrameDecoder } from '../decoder.js';
import type { MessageFields, MessageName } from '../messages.js';
import type { AgentClient } from './client.js';
import { AgentListener } from './listener.js';

export const AGENT_CAPS = 0x3fn | (1n << 40n); // every v1 bit plus one this host does not know

export function readyFields(over: Partial<MessageFields<'READY'>> = {}): MessageFields<'READY'> {
  return {
    version: 1, caps: AGENT_CAPS, agentVersion: 'fake-1', pid: 1, bootId: 0xabcn, window: 65_536,
    timing: ['boot=120', 'connect=30'], ...over,
  };
}

export class FakeAgent {
  readonly socket: Socket;
  readonly #decoder = new FrameDecoder();
  readonly #inbox: Message[] = [];
  #wake: (() => void) | undefined;
  #ended = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk) => {
      this.#decoder.push(chunk, (f) => this.#inbox.push(decodeMessage(f)));
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
    socket.on('error', () => undefined);
  }

  /** Connects to `path` and sends READY with `ready` fields. */
  static async connect(path: string, ready: MessageFields<'READY'> = readyFields()): Promise<FakeAgent> {
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const agent = new FakeAgent(socket);
    agent.send({ type: 'READY', stream: 0, fields: ready });
    return agent;
  }

  send(msg: Message): void {
    this.socket.write(encodeMessage(msg));
  }

  /** The next message from the host; rejects when the connection ends first. */
  async next(timeoutMs = 2000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.#inbox.shift();
      if (m !== undefined) return m;
      if (this.#ended) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('no message from the host in time');
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 20);
      });
    }
  }

  /** The next message, which must be of `type`. */
  async expect<T extends MessageName>(type: T, timeoutMs?: number): Promise<MessageOf<T>> {
    const m = await this.next(timeoutMs);
    if (m.type !== type) throw new Error(`expected ${type}, got ${m.type}`);
    // Checked on the line above.
    return m as MessageOf<T>;
  }

  /** Messages that arrived and were not taken yet. */
  pending(): readonly Message[] {
    return this.#inbox;
  }

  get ended(): boolean {
    return this.#ended;
  }
}

/** A listener in a temp dir, one fake agent connected to it, and the accepted client. */
export interface Pair {
  readonly dir: string;
  readonly listener: AgentListener;
  readonly client: AgentClient;
  readonly agent: FakeAgent;
}

export async function openPair(ready?: MessageFields<'READY'>): Promise<Pair> {
  const dir = await mkdtemp(join(tmpdir(), 'shed-client-test-'));
  const listener = await AgentListener.listen(join(dir, 'agent.sock'));
  const [agent, client] = await Promise.all([FakeAgent.connect(listener.path, ready), listener.accept()]);
  await agent.expect('HELLO');
  return { dir, listener, client, agent };
}

export async function closePair(p: Pair): Promise<void> {
  await p.client.close();
  p.agent.socket.destroy();
  await p.listener.close();
  await rm(p.dir, { recursive: true, force: true });
}
