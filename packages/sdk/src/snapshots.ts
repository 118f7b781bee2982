import type { SnapshotInfo } from '@shed/protocol';
import { ROUTES, routePath } from '@shed/protocol/client';
import { asSnapshotList } from './shapes.js';
import type { CallOptions, Transport } from './transport.js';

/** Filesystem snapshots of sandboxes (take one with `sandbox.snapshot()`, fork with `sandboxes.fork()`). */
export class Snapshots {
  readonly #t: Transport;

  /** @internal Made by Shed. */
  constructor(t: Transport) {
    this.#t = t;
  }

  /** Every snapshot, oldest first. */
  async list(opts: CallOptions = {}): Promise<SnapshotInfo[]> {
    return asSnapshotList(await this.#t.json('GET', ROUTES.snapshots, { signal: opts.signal }));
  }

  /** Rejects with `failed_precondition` while sandboxes forked from it exist. */
  async delete(snapshotOrId: string | { readonly layerId: string }, opts: CallOptions = {}): Promise<void> {
    const id = typeof snapshotOrId === 'string' ? snapshotOrId : snapshotOrId.layerId;
    await this.#t.json('DELETE', routePath(ROUTES.snapshot, { id }), { signal: opts.signal });
  }
}
