import type { Readable } from 'node:stream';
import type { ImageDigest } from './ids.js';
import type { ImageInfo } from './images.js';

/**
 * Managing the image store (the CLI's `shed image …`), beside ImageService's resolve/list
 * that sandbox creation needs. Implemented by images/, wired in by the daemon.
 */
export interface ImageAdmin {
  list(): Promise<ImageInfo[]>;
  /** Pulls through skopeo and names the result `name` (default: the reference). */
  pull(ref: string, opts?: { name?: string; signal?: AbortSignal }): Promise<ImageInfo>;
  /** Imports a docker-archive or OCI-layout tar stream under `name`. */
  importTar(tar: Readable, opts: { name: string; signal?: AbortSignal }): Promise<ImageInfo>;
  /** Removes a name, and the image once no name or sandbox refers to it. */
  remove(ref: string): Promise<void>;
  /** Removes unreferenced images; with maxBytes, also evicts least recently used ones until under it. */
  prune(opts?: { maxBytes?: number }): Promise<{ removed: ImageDigest[]; freedBytes: number }>;
}
