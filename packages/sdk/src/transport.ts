import { Agent, request, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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

/** Where shedd is: its unix socket, or an HTTP(S) URL with the bearer token its TCP listener wants. */
export type Endpoint = { readonly socketPath: string } | { readonly url: string; readonly token: string | undefined };

/** A response whose body the caller reads (a stream of Buffers) or destroys. */
export interface StreamResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Readable;
}

/**
 * HTTP to shedd with node:http: over the unix socket, or over TCP with `Authorization: Bearer`.
 * One keep-alive pool either way. No timeouts: an exec waits for its command and an output
 * stream follows a process for as long as it runs; callers pass a signal.
 *
 * Not undici: loading it costs ~160 ms of start-up here (node:http is already in the binary),
 * and every `shed` command pays start-up on its critical path.
 */
export class Transport {
  readonly endpoint: Endpoint;
  /** Names shedd in messages: its socket path or URL. */
  readonly where: string;
  readonly #origin: string;
  readonly #auth: string | undefined;
  #agent: Agent | undefined;
  readonly #tls: boolean;

  constructor(endpoint: Endpoint) {
    this.endpoint = endpoint;
    if ('socketPath' in endpoint) {
      this.where = endpoint.socketPath;
      this.#origin = 'http://localhost';
      this.#auth = undefined;
      this.#tls = false;
    } else {
      this.where = endpoint.url;
      this.#origin = new URL(endpoint.url).origin;
      this.#auth = endpoint.token === undefined ? undefined : `Bearer ${endpoint.token}`;
      this.#tls = this.#origin.startsWith('https:');
    }
  }

  /** Made on first use and after close(): like node:http's Agent, a closed transport stays usable. */
  #pool(): Agent {
    const opts = { keepAlive: true, maxSockets: 64 };
    this.#agent ??= this.#tls ? new HttpsAgent(opts) : new Agent(opts);
    return this.#agent;
  }

  /** A JSON call; non-2xx responses become ShedApiErrors. The caller checks the shape of what it gets. */
  async json(method: string, path: string, opts: RequestOptions = {}): Promise<unknown> {
    const res = await this.send(method, path, opts);
    const text = await readText(res.body).catch((err: unknown) => {
      throw opts.signal?.aborted === true ? opts.signal.reason : new ShedApiError('unavailable', `lost the connection to shedd during ${method} ${path}; shedd may have restarted`, { cause: err });
    });
    if (res.statusCode === 204 || text === '') return {};
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ShedApiError('internal', `shedd sent a response that is not JSON for ${method} ${path}`, { status: res.statusCode, cause: err });
    }
  }

  /** A call whose 2xx response body is a stream for the caller to read. */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<StreamResponse> {
    opts.signal?.throwIfAborted();
    const headers: Record<string, string> = {};
    if (this.#auth !== undefined) headers['authorization'] = this.#auth;
    if (opts.json !== undefined) headers['content-type'] = 'application/json';
    else if (opts.raw !== undefined) headers['content-type'] = opts.contentType ?? 'application/octet-stream';
    const where = 'socketPath' in this.endpoint ? { socketPath: this.endpoint.socketPath } : { host: new URL(this.#origin).hostname, port: new URL(this.#origin).port };
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (this.#tls ? httpsRequest : request)(
        { ...where, agent: this.#pool(), method, path: withQuery(path, opts.query), headers, signal: opts.signal }, resolve,
      );
      req.on('error', (err) => reject(this.#connectionError(err, opts.signal)));
      writeBody(req, opts).catch((err: unknown) => req.destroy(err instanceof Error ? err : new Error(String(err))));
    });
    const statusCode = res.statusCode ?? 0;
    if (statusCode >= 200 && statusCode < 300) return { statusCode, headers: res.headers, body: res };
    throw errorFromResponse(statusCode, await readText(res));
  }

  /**
   * A raw request on the endpoint (auth added) for callers that read the response
   * themselves: the port proxy, whose answers are the sandbox server's, and upgrades.
   * Upgrades get a connection of their own (no pool): it becomes the tunnel.
   */
  rawRequest(method: string, path: string, opts: { headers?: Record<string, string>; upgrade?: boolean; signal?: AbortSignal } = {}): ClientRequest {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.#auth !== undefined) headers['authorization'] = this.#auth;
    const where = 'socketPath' in this.endpoint ? { socketPath: this.endpoint.socketPath } : { host: new URL(this.#origin).hostname, port: new URL(this.#origin).port };
    const agent = opts.upgrade === true ? false : this.#pool();
    return (this.#tls ? httpsRequest : request)({ ...where, agent, method, path, headers, signal: opts.signal });
  }

  /** Turns a failed raw request into the error a call reports (shedd not running, no permission). */
  connectionError(err: unknown, signal?: AbortSignal): unknown {
    return this.#connectionError(err, signal);
  }

  /** Drops every connection (open streams end) so the process can exit; a later call reconnects. */
  close(): void {
    const agent = this.#agent;
    this.#agent = undefined;
    agent?.destroy();
  }

  /**
   * Where and how to open a WebSocket for `path` (with its query) on the same endpoint: ws
   * speaks `ws+unix:` for the socket; over TCP the bearer token goes in the upgrade request.
   */
  websocket(path: string): { url: string; headers: Record<string, string> } {
    if ('socketPath' in this.endpoint) return { url: `ws+unix://${this.endpoint.socketPath}:${path}`, headers: {} };
    const url = new URL(path, this.#origin);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return { url: url.toString(), headers: this.#auth === undefined ? {} : { authorization: this.#auth } };
  }

  #connectionError(err: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted === true) return signal.reason;
    const code = errnoOf(err);
    const message = err instanceof Error ? err.message : String(err);
    if (code === 'ENOENT' || code === 'ECONNREFUSED') {
      const how = 'socketPath' in this.endpoint ? "start it with 'shed daemon' (or any shed command starts it)" : 'check the address and that shedd serves TCP there (tcp in shedd.toml, --listen-tcp)';
      return new ShedApiError('unavailable', `shedd is not running at ${this.where}; ${how}`, { cause: err });
    }
    if (code === 'EACCES') {
      return new ShedApiError('unavailable', `no permission to use ${this.where}; shedd's socket is for root (and socketGroup's members): run as root`, { cause: err });
    }
    return new ShedApiError('unavailable', `lost the connection to shedd at ${this.where}: ${message}`, { cause: err });
  }
}

/** A refused connect carries the errno's code on the error (or on its cause, when wrapped). */
function errnoOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    if ('code' in e && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
  }
  return undefined;
}

async function writeBody(req: ClientRequest, opts: RequestOptions): Promise<void> {
  if (opts.json !== undefined) return void req.end(JSON.stringify(opts.json));
  if (opts.raw === undefined) return void req.end();
  if (opts.raw instanceof Uint8Array) return void req.end(opts.raw);
  for await (const chunk of opts.raw) {
    if (!req.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        req.once('drain', resolve);
        req.once('close', () => reject(new Error('request closed while sending its body')));
      });
    }
  }
  req.end();
}

export async function readText(body: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk as Buffer); // IncomingMessage yields Buffers (no encoding set).
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
