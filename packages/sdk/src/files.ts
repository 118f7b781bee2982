import type { DirListEntry, FileStatResponse } from '@shed/protocol';
import { ROUTES, routePath } from '@shed/protocol/client';
import type { Readable } from 'node:stream';
import { asEntries, asStat, asWritten } from './shapes.js';
import type { CallOptions, Transport } from './transport.js';

export interface WriteOptions extends CallOptions {
  /** Permission bits of a created file. @default 0o644 */
  mode?: number;
  /** Append instead of replacing the file. @default false */
  append?: boolean;
}

/**
 * Files of a running sandbox. Paths are absolute paths inside the sandbox; `..` and
 * relative paths are refused with `invalid_argument`. Symlinks resolve inside the sandbox.
 */
export class SandboxFiles {
  readonly #t: Transport;
  readonly #sandbox: string;

  /** @internal Made by Sandbox. */
  constructor(t: Transport, sandbox: string) {
    this.#t = t;
    this.#sandbox = sandbox;
  }

  /** The whole file. For large files use `readStream`. */
  async read(path: string, opts: CallOptions = {}): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of await this.readStream(path, opts)) parts.push(chunk);
    return Buffer.concat(parts);
  }

  async readText(path: string, opts: CallOptions = {}): Promise<string> {
    return (await this.read(path, opts)).toString('utf8');
  }

  /** The file's bytes as they arrive; a missing file rejects before any byte. */
  async readStream(path: string, opts: CallOptions = {}): Promise<AsyncIterable<Buffer>> {
    const res = await this.#t.send('GET', this.#route(ROUTES.fileContent), { query: { path }, signal: opts.signal });
    return res.body as AsyncIterable<Buffer>; // an IncomingMessage without an encoding yields Buffers.
  }

  /** Writes (streams) the data; resolves with the bytes written. */
  async write(path: string, data: string | Uint8Array | Readable | AsyncIterable<Uint8Array>, opts: WriteOptions = {}): Promise<{ sizeBytes: number }> {
    const raw = typeof data === 'string' ? Buffer.from(data) : data;
    const { signal, ...query } = opts;
    return asWritten(await this.#t.json('PUT', this.#route(ROUTES.fileContent), { query: { path, ...query }, raw, signal }));
  }

  async stat(path: string, opts: CallOptions & { followSymlinks?: boolean } = {}): Promise<FileStatResponse> {
    const { signal, ...query } = opts;
    return asStat(await this.#t.json('GET', this.#route(ROUTES.fileStat), { query: { path, ...query }, signal }));
  }

  /** Entries of a directory (not `.`/`..`); symlinks are described, not followed. */
  async list(path: string, opts: CallOptions = {}): Promise<DirListEntry[]> {
    return asEntries(await this.#t.json('GET', this.#route(ROUTES.fileList), { query: { path }, signal: opts.signal }));
  }

  async mkdir(path: string, opts: CallOptions & { parents?: boolean; mode?: number } = {}): Promise<void> {
    const { signal, ...rest } = opts;
    await this.#t.json('POST', this.#route(ROUTES.fileMkdir), { json: { path, ...rest }, signal });
  }

  /** Removes a file, symlink or (with `recursive`) a directory tree; never follows symlinks. */
  async remove(path: string, opts: CallOptions & { recursive?: boolean } = {}): Promise<void> {
    const { signal, ...rest } = opts;
    await this.#t.json('POST', this.#route(ROUTES.fileRemove), { json: { path, ...rest }, signal });
  }

  async rename(from: string, to: string, opts: CallOptions = {}): Promise<void> {
    await this.#t.json('POST', this.#route(ROUTES.fileRename), { json: { from, to }, signal: opts.signal });
  }

  #route(route: string): string {
    return routePath(route, { sandbox: this.#sandbox });
  }
}
