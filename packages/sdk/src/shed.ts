import type { DoctorResponse, HealthResponse, PruneSystemResponse } from '@shed/protocol';
import { DEFAULT_SOCKET_PATH, ROUTES, routePath } from '@shed/protocol/client';
import { EventStream, type EventsOptions } from './events.js';
import { Images } from './images.js';
import type { ConnectOptions, CreateOptions, ForkOptions, ListOptions, PruneOptions } from './options.js';
import { Pools } from './pools.js';
import { Sandbox } from './sandbox.js';
import { asDoctor, asHealth, asSandbox, asSandboxList, asSystemPrune } from './shapes.js';
import { Snapshots } from './snapshots.js';
import { Transport, type CallOptions, type Endpoint } from './transport.js';

/** The sandboxes of one shedd. */
export class Sandboxes {
  readonly #t: Transport;

  /** @internal Made by Shed. */
  constructor(t: Transport) {
    this.#t = t;
  }

  /** Creates a sandbox and resolves once it is ready for commands. */
  async create(opts: CreateOptions = {}): Promise<Sandbox> {
    const { signal, image = 'default', ...rest } = opts;
    return new Sandbox(this.#t, asSandbox(await this.#t.json('POST', ROUTES.sandboxes, { json: { image, ...rest }, signal })));
  }

  /** By id or name; rejects with `not_found`. */
  async get(ref: string, opts: CallOptions = {}): Promise<Sandbox> {
    return new Sandbox(this.#t, asSandbox(await this.#t.json('GET', routePath(ROUTES.sandbox, { sandbox: ref }), { signal: opts.signal })));
  }

  /** New sandboxes on a snapshot's files, each with its own writable layer (all or none). */
  async fork(snapshotOrId: string | { readonly layerId: string }, opts: ForkOptions = {}): Promise<Sandbox[]> {
    const { signal, ...body } = opts;
    const id = typeof snapshotOrId === 'string' ? snapshotOrId : snapshotOrId.layerId;
    const list = asSandboxList(await this.#t.json('POST', routePath(ROUTES.fork, { id }), { json: body, signal }));
    return list.map((info) => new Sandbox(this.#t, info));
  }

  async list(opts: ListOptions = {}): Promise<Sandbox[]> {
    const label = Object.entries(opts.labels ?? {}).map(([k, v]) => `${k}=${v}`);
    const list = asSandboxList(await this.#t.json('GET', ROUTES.sandboxes, { query: { label, ...(opts.all === true ? { all: true } : {}) }, signal: opts.signal }));
    return list.map((info) => new Sandbox(this.#t, info));
  }
}

/**
 * A connection to shedd. `Shed.connect()` checks that shedd answers, so a missing daemon
 * is one clear `unavailable` error up front.
 */
export class Shed {
  readonly sandboxes: Sandboxes;
  readonly images: Images;
  readonly snapshots: Snapshots;
  readonly pools: Pools;
  /** The unix socket, when connected through one. */
  readonly socketPath: string | undefined;
  /** The TCP listener's URL, when connected through it. */
  readonly url: string | undefined;
  readonly #t: Transport;

  private constructor(t: Transport) {
    this.#t = t;
    this.socketPath = 'socketPath' in t.endpoint ? t.endpoint.socketPath : undefined;
    this.url = 'url' in t.endpoint ? t.endpoint.url : undefined;
    this.sandboxes = new Sandboxes(t);
    this.images = new Images(t);
    this.snapshots = new Snapshots(t);
    this.pools = new Pools(t);
  }

  static async connect(opts: ConnectOptions = {}): Promise<Shed> {
    const shed = new Shed(new Transport(endpointOf(opts, process.env)));
    try {
      await shed.health(opts);
    } catch (err) {
      shed.close();
      throw err;
    }
    return shed;
  }

  async health(opts: CallOptions = {}): Promise<HealthResponse> {
    return asHealth(await this.#t.json('GET', ROUTES.health, { signal: opts.signal }));
  }

  /** shedd's checks of its host (`shed doctor`): each ok, warn or fail, with how to fix it. */
  async doctor(opts: CallOptions = {}): Promise<DoctorResponse> {
    return asDoctor(await this.#t.json('GET', ROUTES.doctor, { signal: opts.signal }));
  }

  /**
   * Sandbox lifecycle events (created, started, exec, stopped, died, deleted…), oldest first.
   * Resolves once shedd has subscribed the stream: every event after that is delivered.
   */
  async events(opts: EventsOptions = {}): Promise<EventStream> {
    return EventStream.open(this.#t, opts);
  }

  /**
   * Removes what no sandbox owns (orphan mounts, cgroups, runtime state, directories) and,
   * with `images`, images no sandbox uses. Resolves with what was removed.
   */
  async prune(opts: PruneOptions = {}): Promise<PruneSystemResponse> {
    const { signal, ...rest } = opts;
    return asSystemPrune(await this.#t.json('POST', ROUTES.systemPrune, { json: rest, signal }));
  }

  /** Closes idle connections so the process can exit. Sandboxes are not affected. */
  close(): void {
    this.#t.close();
  }
}

/** An explicit socket or URL wins; then $SHED_HOST (TCP), then $SHED_SOCKET, then the default socket. */
export function endpointOf(opts: ConnectOptions, env: NodeJS.ProcessEnv): Endpoint {
  const token = opts.token ?? nonEmpty(env['SHED_TOKEN']);
  if (opts.socketPath !== undefined) return { socketPath: opts.socketPath };
  const url = opts.url ?? nonEmpty(env['SHED_HOST']);
  if (url !== undefined) return { url: /^https?:\/\//.test(url) ? url : `http://${url}`, token };
  return { socketPath: nonEmpty(env['SHED_SOCKET']) ?? DEFAULT_SOCKET_PATH };
}

const nonEmpty = (s: string | undefined): string | undefined => (s === '' ? undefined : s);
