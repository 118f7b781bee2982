import { Agent, request, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { ShedApiError, errorFromResponse } from './errors.js';

export type Query = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

export interface CallOptions {
  /** Aborting cancels the request; the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface RequestOptions extends CallOptions {
  query?: Query;
  /** JSON body (sent as application/json). */
  json?: unknown;
  /** Raw body, streamed (sent as application/octet-stream unless contentType says otherwise). */
  raw?: Readable | AsyncIterable<Uint8Array> | Uint8Array;
  contentType?: string;
}

/** HTTP over shedd's unix socket with node:http: no native code, one keep-alive pool. */
export class Transport {
  readonly socketPath: string;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /** A JSON call; non-2xx responses become ShedApiErrors. The caller checks the shape of what it gets. */
  async json(method: string, path: string, opts: RequestOptions = {}): Promise<unknown> {
    const res = await this.send(method, path, opts);
    const text = await readText(res).catch((err: unknown) => {
      throw opts.signal?.aborted === true ? opts.signal.reason : new ShedApiError('unavailable', `lost the connection to shedd during ${method} ${path}; shedd may have restarted`, { cause: err });
    });
    if (res.statusCode === 204 || text === '') return {};
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ShedApiError('internal', `shedd sent a response that is not JSON for ${method} ${path}`, { status: res.statusCode ?? 0, cause: err });
    }
  }

  /** A call whose 2xx response body is a stream for the caller to read. */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    opts.signal?.throwIfAborted();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (opts.json !== undefined) headers['content-type'] = 'application/json';
      else if (opts.raw !== undefined) headers['content-type'] = opts.contentType ?? 'application/octet-stream';
      const req = request({ socketPath: this.socketPath, agent: this.#agent, method, path: withQuery(path, opts.query), headers, signal: opts.signal }, resolve);
      req.on('error', (err) => reject(this.#connectionError(err, opts.signal)));
      writeBody(req, opts).catch((err: unknown) => req.destroy(err instanceof Error ? err : new Error(String(err))));
    });
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    throw errorFromResponse(status, await readText(res));
  }

  close(): void {
    this.#agent.destroy();
  }

  /** A WebSocket URL for `path` (with its query) on the same socket; ws speaks `ws+unix:`. */
  websocketUrl(path: string): string {
    return `ws+unix://${this.socketPath}:${path}`;
  }

  #connectionError(err: Error, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted === true) return signal.reason;
    const code = 'code' in err ? err.code : undefined;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') {
      return new ShedApiError('unavailable', `shedd is not running at ${this.socketPath}; start it with 'shed daemon' (or any shed command starts it)`, { cause: err });
    }
    if (code === 'EACCES') {
      return new ShedApiError('unavailable', `no permission to use ${this.socketPath}; shedd's socket is for root: run as root`, { cause: err });
    }
    return new ShedApiError('unavailable', `lost the connection to shedd at ${this.socketPath}: ${err.message}`, { cause: err });
  }
}

async function writeBody(req: import('node:http').ClientRequest, opts: RequestOptions): Promise<void> {
  if (opts.json !== undefined) return void req.end(JSON.stringify(opts.json));
  if (opts.raw === undefined) return void req.end();
  if (opts.raw instanceof Uint8Array) return void req.end(opts.raw);
  for await (const chunk of opts.raw) {
    if (!req.write(chunk)) await new Promise<void>((resolve, reject) => {
      req.once('drain', resolve);
      req.once('close', () => reject(new Error('request closed while sending its body')));
    });
  }
  req.end();
}

export async function readText(res: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of res) parts.push(chunk as Buffer); // IncomingMessage yields Buffers (no encoding set).
  return Buffer.concat(parts).toString('utf8');
}

export function withQuery(path: string, query: Query | undefined): string {
  if (query === undefined) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) qs.append(k, String(item));
    else qs.append(k, String(v));
  }
  const s = qs.toString();
  return s === '' ? path : `${path}?${s}`;
}
