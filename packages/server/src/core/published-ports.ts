// Published ports: shedd listens on a host address and port for a sandbox and carries each
// connection to the sandbox's port through its agent. The listeners are transient state
// (gone with the process); the spec in SQLite says what to listen on, so a restarted shedd
// (kill -9 included) binds them again for every running sandbox.
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ShedError, asShedError } from './errors.js';
import type { SandboxId } from './ids.js';
import type { PublishedPortSpec, SandboxRecord } from './sandboxes.js';
import type { ServiceLog } from './sandbox-service.js';

/** What the sandbox service calls around a sandbox's life (create/start, stop, delete, shutdown). */
export interface PortPublishing {
  /** Listens on every host port of `ports`; when one cannot be bound, none stays bound and it throws. */
  open(id: SandboxId, ports: readonly PublishedPortSpec[]): Promise<void>;
  /** Stops listening for `id` and drops its forwarded connections. */
  close(id: SandboxId): Promise<void>;
  closeAll(): Promise<void>;
}

export interface PortPublisherDeps {
  /** A connection to the sandbox's port (SandboxPorts.connect). */
  readonly connect: (id: SandboxId, port: number) => Promise<Duplex>;
  readonly log: ServiceLog;
}

interface Published {
  readonly servers: Server[];
  readonly sockets: Set<Socket>;
}

export class PortPublisher implements PortPublishing {
  readonly #d: PortPublisherDeps;
  readonly #bySandbox = new Map<SandboxId, Published>();

  constructor(deps: PortPublisherDeps) {
    this.#d = deps;
  }

  /** Host ports bound for `id` now (for inspect and tests). */
  bound(id: SandboxId): number {
    return this.#bySandbox.get(id)?.servers.length ?? 0;
  }

  async open(id: SandboxId, ports: readonly PublishedPortSpec[]): Promise<void> {
    await this.close(id); // a start after the sandbox died: its old listeners go first
    const p: Published = { servers: [], sockets: new Set() };
    try {
      for (const spec of ports) p.servers.push(await this.#listen(id, spec, p.sockets));
    } catch (err) {
      await closeAll(p);
      throw err;
    }
    this.#bySandbox.set(id, p);
  }

  async close(id: SandboxId): Promise<void> {
    const p = this.#bySandbox.get(id);
    if (p === undefined) return;
    this.#bySandbox.delete(id);
    await closeAll(p);
  }

  async closeAll(): Promise<void> {
    const all = [...this.#bySandbox.values()];
    this.#bySandbox.clear();
    await Promise.all(all.map(closeAll));
  }

  #listen(id: SandboxId, spec: PublishedPortSpec, sockets: Set<Socket>): Promise<Server> {
    // Half-open: a client's EOF reaches the sandbox's server, which may still answer.
    const server = createServer({ allowHalfOpen: true }, (client) => {
      sockets.add(client);
      client.once('close', () => sockets.delete(client));
      void this.#forward(id, spec, client);
    });
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new ShedError('failed_precondition',
          `cannot publish ${spec.hostIp}:${spec.hostPort} for port ${spec.port}: ${err.code === 'EADDRINUSE' ? 'the host port is in use; pick another or stop what holds it' : err.message}`,
          { cause: err, details: { hostIp: spec.hostIp, hostPort: spec.hostPort, port: spec.port, errno: err.code } }));
      });
      server.listen({ host: spec.hostIp, port: spec.hostPort, exclusive: true }, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => this.#d.log.warn({ sandbox: id, err: err.message }, 'published port listener failed'));
        resolve(server);
      });
    });
  }

  async #forward(id: SandboxId, spec: PublishedPortSpec, client: Socket): Promise<void> {
    client.on('error', () => undefined);
    let tunnel: Duplex;
    try {
      tunnel = await this.#d.connect(id, spec.port);
    } catch (err) {
      // Nothing listens in the sandbox (yet), or it is not running: the client sees a reset.
      this.#d.log.info({ sandbox: id, port: spec.port, err: asShedError(err, 'published port').message }, 'published port connection refused');
      client.resetAndDestroy();
      return;
    }
    if (client.destroyed) return void tunnel.destroy();
    client.pipe(tunnel);
    tunnel.pipe(client);
    tunnel.on('error', () => client.destroy());
    client.on('error', () => tunnel.destroy());
    client.once('close', () => tunnel.destroy());
    tunnel.once('close', () => client.destroy());
  }
}

async function closeAll(p: Published): Promise<void> {
  for (const s of p.sockets) s.destroy();
  await Promise.all(p.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
}

/** After a restart: binds the published ports of every running sandbox again. A failure is logged; the sandbox keeps running. */
export async function restorePublished(publisher: PortPublishing, sandboxes: readonly SandboxRecord[], log: ServiceLog): Promise<void> {
  for (const rec of sandboxes) {
    const ports = rec.spec.ports ?? [];
    if (rec.state !== 'running' || ports.length === 0) continue;
    try {
      await publisher.open(rec.id, ports);
    } catch (err) {
      log.error({ sandbox: rec.id, err: asShedError(err, 'publish').message }, 'could not publish the ports of a running sandbox again');
    }
  }
}
