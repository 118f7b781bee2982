// The agent connects out to the host, so the host listens: one unix socket per sandbox.
import { lstat, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { AgentError } from './agent-error.js';
import { AgentClient } from './client.js';
import type { CallOptions, ConnectOptions } from './options.js';

export interface ListenOptions extends CallOptions {
  /** Passed to every connection's handshake. @default 10000 */
  readyTimeoutMs?: number;
}

/**
 * Listens on a unix socket for agent connections. Each connection that completes the
 * handshake (READY, HELLO) becomes an AgentClient, handed out by `accept` in arrival order.
 * An agent that reconnects after a dropped connection simply arrives again.
 */
export class AgentListener {
  readonly path: string;
  readonly #server: Server;
  readonly #connect: ConnectOptions;
  readonly #ready: AgentClient[] = [];
  readonly #waiters: { resolve(c: AgentClient): void; reject(err: unknown): void }[] = [];
  readonly #pending = new Set<Socket>();
  #closed = false;
  /** Why the last connection failed its handshake, for error messages. */
  #lastFailure: unknown;

  private constructor(path: string, server: Server, connect: ConnectOptions) {
    this.path = path;
    this.#server = server;
    this.#connect = connect;
    server.on('connection', (socket) => this.#handshake(socket));
  }

  /** Listens on `path`, replacing a stale socket file left there (never any other file). */
  static async listen(path: string, opts: ListenOptions = {}): Promise<AgentListener> {
    await removeStaleSocket(path);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new AgentListener(path, server, { readyTimeoutMs: opts.readyTimeoutMs });
  }

  /** Resolves with the next agent connection that completed the handshake. */
  accept(opts: CallOptions = {}): Promise<AgentClient> {
    opts.signal?.throwIfAborted();
    if (this.#closed) return Promise.reject(new AgentError('unavailable', `listener on ${this.path} is closed`));
    const ready = this.#ready.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (c: AgentClient): void => {
          opts.signal?.removeEventListener('abort', onAbort);
          resolve(c);
        },
        reject,
      };
      const onAbort = (): void => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(this.#explain(opts.signal?.reason));
      };
      this.#waiters.push(waiter);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Stops listening, closes connections not yet accepted and removes the socket file.
   * Clients already returned by accept() stay open until closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const err = new AgentError('unavailable', `listener on ${this.path} is closed`);
    for (const w of this.#waiters.splice(0)) w.reject(err);
    for (const s of this.#pending) s.destroy();
    await Promise.all(this.#ready.splice(0).map((c) => c.close()));
    // Stops listening and unlinks the socket file at once. Its callback would also wait
    // for connections already handed out by accept(), which their callers close.
    this.#server.close();
  }

  #handshake(socket: Socket): void {
    if (this.#closed) return void socket.destroy();
    this.#pending.add(socket);
    AgentClient.fromDuplex(socket, this.#connect).then(
      (client) => {
        this.#pending.delete(socket);
        if (this.#closed) return void client.close();
        const w = this.#waiters.shift();
        if (w !== undefined) return w.resolve(client);
        this.#ready.push(client);
        // A queued connection that drops is no use to a later accept().
        client.once('disconnect', () => {
          const i = this.#ready.indexOf(client);
          if (i >= 0) this.#ready.splice(i, 1);
        });
      },
      (err: unknown) => {
        this.#pending.delete(socket);
        this.#lastFailure = err;
      },
    );
  }

  // An abort while agents kept failing their handshake should say so.
  #explain(reason: unknown): unknown {
    if (this.#lastFailure === undefined || !(reason instanceof Error)) return reason;
    return new AgentError('unavailable', `${reason.message}; the last agent connection failed: ${String(this.#lastFailure)}`, { cause: reason });
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) return;
  if (!st.isSocket()) throw new AgentError('already_exists', `${path} exists and is not a socket; choose another path`);
  await unlink(path);
}
