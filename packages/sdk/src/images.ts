import type { ImageInfo, PruneImagesResponse } from '@shed/protocol';
import { ROUTES } from '@shed/protocol/client';
import type { Readable } from 'node:stream';
import { asImage, asImageList, asPrune } from './shapes.js';
import type { CallOptions, Transport } from './transport.js';

/** The image store of the host. */
export class Images {
  readonly #t: Transport;

  /** @internal Made by Shed. */
  constructor(t: Transport) {
    this.#t = t;
  }

  async list(opts: CallOptions = {}): Promise<ImageInfo[]> {
    return asImageList(await this.#t.json('GET', ROUTES.images, { signal: opts.signal }));
  }

  /** Pulls from a registry (through skopeo on the host). */
  async pull(ref: string, opts: CallOptions & { name?: string } = {}): Promise<ImageInfo> {
    const { signal, ...rest } = opts;
    return asImage(await this.#t.json('POST', ROUTES.imagePull, { json: { ref, ...rest }, signal }));
  }

  /** Imports a docker-archive or OCI-layout tar, streamed from `tar`. */
  async import(tar: Readable | AsyncIterable<Uint8Array> | Uint8Array, opts: CallOptions & { name: string }): Promise<ImageInfo> {
    return asImage(await this.#t.json('POST', ROUTES.imageImport, { query: { name: opts.name }, raw: tar, contentType: 'application/x-tar', signal: opts.signal }));
  }

  async remove(ref: string, opts: CallOptions & { force?: boolean } = {}): Promise<void> {
    const { signal, ...rest } = opts;
    await this.#t.json('POST', ROUTES.imageRemove, { json: { ref, ...rest }, signal });
  }

  /** Removes unused images; with maxBytes also evicts least recently used ones until under it. */
  async prune(opts: CallOptions & { maxBytes?: number } = {}): Promise<PruneImagesResponse> {
    const { signal, ...rest } = opts;
    return asPrune(await this.#t.json('POST', ROUTES.imagePrune, { json: rest, signal }));
  }
}
