import type { PoolInfo } from '@shed/protocol';
import { ROUTES, routePath } from '@shed/protocol/client';
import type { PoolOptions } from './options.js';
import { asPool, asPoolList } from './shapes.js';
import type { CallOptions, Transport } from './transport.js';

/**
 * Warm pools: sandboxes shedd keeps running ahead of demand. A create whose image (or fork
 * snapshot) and resources match a pool is served from it (`createPath: 'warm'`).
 */
export class Pools {
  readonly #t: Transport;

  /** @internal Made by Shed. */
  constructor(t: Transport) {
    this.#t = t;
  }

  /** Every pool, from the config file and the API, with its free members and last error. */
  async list(opts: CallOptions = {}): Promise<PoolInfo[]> {
    return asPoolList(await this.#t.json('GET', ROUTES.pools, { signal: opts.signal }));
  }

  /** Rejects with `not_found`. */
  async get(name: string, opts: CallOptions = {}): Promise<PoolInfo> {
    return asPool(await this.#t.json('GET', routePath(ROUTES.pool, { name }), { signal: opts.signal }));
  }

  /**
   * Creates or replaces a pool; shedd keeps it across restarts. Rejects with
   * `failed_precondition` for a pool of the config file, `invalid_argument` for bad counts.
   */
  async set(name: string, opts: PoolOptions): Promise<PoolInfo> {
    const { signal, ...body } = opts;
    return asPool(await this.#t.json('PUT', routePath(ROUTES.pool, { name }), { json: body, signal }));
  }

  /** Removes the pool and deletes its free members; claimed sandboxes stay. */
  async delete(name: string, opts: CallOptions = {}): Promise<void> {
    await this.#t.json('DELETE', routePath(ROUTES.pool, { name }), { signal: opts.signal });
  }
}
