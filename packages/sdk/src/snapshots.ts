import type { ImageInfo, SnapshotInfo } from '@shed/protocol';
import { ROUTES, routePath } from '@shed/protocol/client';
import { asImage, asSnapshotList } from './shapes.js';
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

  /**
   * Makes a snapshot an image named `name` (the snapshot's files over its base image): `shed
   * image ls` lists it and sandboxes are created from it by name. The image does not depend on
   * the snapshot, which can be deleted afterwards.
   */
  async commit(snapshotOrId: string | { readonly layerId: string }, name: string, opts: CallOptions = {}): Promise<ImageInfo> {
    const id = typeof snapshotOrId === 'string' ? snapshotOrId : snapshotOrId.layerId;
    return asImage(await this.#t.json('POST', routePath(ROUTES.commit, { id }), { json: { name }, signal: opts.signal }));
  }
}
