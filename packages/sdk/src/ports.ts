import { ROUTES, SHED_ERROR_HEADER, TCP_UPGRADE_PROTOCOL, routePath } from '@shed/protocol/client';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { ShedApiError, errorFromResponse } from './errors.js';
import { readText, type CallOptions, type Transport } from './transport.js';

export interface PortFetchInit extends CallOptions {
  /** @default 'GET' */
  method?: string;
  headers?: Readonly<Record<string, string>>;
  body?: string | Uint8Array | Readable | AsyncIterable<Uint8Array>;
}

/** An answer of the server in the sandbox (any status: a 404 from it is not an error here). */
export interface PortResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as it streams; read it, or destroy it. */
  readonly body: Readable;
  text(): Promise<string>;
}

/**
 * Ports of a running sandbox, reached through shedd and the sandbox's agent, whatever the
 * sandbox's network mode. Nothing listening is a ShedApiError `unavailable` whose
 * `details.errno` is `ECONNREFUSED`.
 */
export class SandboxPorts {
  readonly #t: Transport;
  readonly #sandbox: string;

  /** @internal Made by Sandbox. */
  constructor(t: Transport, sandbox: string) {
    this.#t = t;
    this.#sandbox = sandbox;
  }

  /** An HTTP request to `port` in the sandbox; `path` is the path there (with its query). */
  async fetch(port: number, path = '/', init: PortFetchInit = {}): Promise<PortResponse> {
    init.signal?.throwIfAborted();
    const base = routePath(ROUTES.portProxy.slice(0, -2), { sandbox: this.#sandbox, port });
    const req = this.#t.rawRequest(init.method ?? 'GET', `${base}${path.startsWith('/') ? path : `/${path}`}`, {
      headers: { ...init.headers }, signal: init.signal,
    });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', (err) => reject(this.#t.connectionError(err, init.signal)));
      void sendBody(req, init.body).catch((err: unknown) => req.destroy(err instanceof Error ? err : new Error(String(err))));
    });
    const status = res.statusCode ?? 0;
    if (res.headers[SHED_ERROR_HEADER] !== undefined) throw errorFromResponse(status, await readText(res));
    return { status, headers: res.headers, body: res, text: () => readText(res) };
  }

  /** A raw TCP connection to `port` in the sandbox (half-close works: `end()` sends EOF). */
  async connect(port: number, opts: CallOptions = {}): Promise<Socket> {
    opts.signal?.throwIfAborted();
    const req = this.#t.rawRequest('GET', routePath(ROUTES.portTcp, { sandbox: this.#sandbox, port }), {
      headers: { connection: 'Upgrade', upgrade: TCP_UPGRADE_PROTOCOL }, upgrade: true, signal: opts.signal,
    });
    return new Promise<Socket>((resolve, reject) => {
      req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
        if (head.byteLength > 0) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res: IncomingMessage) => {
        readText(res).then(
          (text) => reject(errorFromResponse(res.statusCode ?? 0, text)),
          (err: unknown) => reject(new ShedApiError('unavailable', `lost shedd while connecting to port ${port}`, { cause: err })),
        );
      });
      req.on('error', (err) => reject(this.#t.connectionError(err, opts.signal)));
      req.end();
    });
  }
}

async function sendBody(req: import('node:http').ClientRequest, body: PortFetchInit['body']): Promise<void> {
  if (body === undefined) return void req.end();
  if (typeof body === 'string' || body instanceof Uint8Array) return void req.end(body);
  for await (const chunk of body) {
    if (!req.write(chunk)) await new Promise<void>((resolve) => req.once('drain', resolve));
  }
  req.end();
}
