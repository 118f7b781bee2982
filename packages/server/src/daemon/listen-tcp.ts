// The API over TCP, for clients on other hosts or in other containers. Unlike the unix socket
// (guarded by its file mode), every request must carry `Authorization: Bearer <token>`; one
// without it never reaches a route. Requests that pass go to the same fastify app.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { BearerCheck } from '../api/bearer.js';
import type { Api } from '../api/app.js';
import { errorBody, httpStatus } from '../api/errors.js';
import { ShedError } from '../core/errors.js';
import type { TcpAddress } from './config.js';

/** Where pino must censor the token: the request records logged below (see main.ts). */
export const LOG_REDACT_PATHS = ['req.headers.authorization', 'req.headers["proxy-authorization"]'];

export interface TcpListener {
  /** The bound address (the port the kernel gave when asked for 0). */
  readonly address: TcpAddress;
  close(): Promise<void>;
}

export async function listenOnTcp(app: Api, addr: TcpAddress, token: string, log: Logger | undefined): Promise<TcpListener> {
  const bearer = new BearerCheck(token);
  await app.ready();
  // Same as the app's own server: streams (process output) may stay open as long as a process runs.
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    if (bearer.matches(req.headers.authorization)) {
      log?.debug({ req: record(req) }, 'tcp request');
      // Consumed here: the port proxy must not hand shed's token to a server in a sandbox.
      delete req.headers.authorization;
      app.routing(req, res);
      return;
    }
    log?.warn({ req: record(req) }, 'refused a TCP request without the right bearer token');
    reject(res);
  });
  // WebSocket upgrades (terminals) bypass the request handler: checked here, then handed to
  // the app's own server, where @fastify/websocket routes them like any request.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (bearer.matches(req.headers.authorization)) {
      log?.debug({ req: record(req) }, 'tcp upgrade');
      delete req.headers.authorization;
      app.server.emit('upgrade', req, socket, head);
      return;
    }
    log?.warn({ req: record(req) }, 'refused a TCP upgrade without the right bearer token');
    rejectUpgrade(socket);
  });
  await new Promise<void>((resolve, fail) => {
    server.once('error', (err) => fail(new ShedError('failed_precondition', `cannot listen on ${addr.host}:${addr.port}: ${err.message}`, { cause: err })));
    server.listen({ host: addr.host, port: addr.port }, resolve);
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : addr.port;
  return { address: { host: addr.host, port }, close: () => closeServer(server) };
}

const unauthenticated = (): ShedError =>
  new ShedError('unauthenticated', 'this request needs `Authorization: Bearer <token>` with shedd\'s token (the SDK and CLI send $SHED_TOKEN)');

function reject(res: ServerResponse): void {
  const err = unauthenticated();
  res.writeHead(httpStatus(err.code), { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="shed"' });
  res.end(JSON.stringify(errorBody(err)));
}

/** The same 401 on a socket that asked for an upgrade (no ServerResponse exists for it). */
function rejectUpgrade(socket: Duplex): void {
  const body = JSON.stringify(errorBody(unauthenticated()));
  socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\nwww-authenticate: Bearer realm="shed"\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/** What is logged of a TCP request: who knocked, with which headers (the token redacted by pino). */
function record(req: IncomingMessage): Record<string, unknown> {
  return { method: req.method, url: req.url, remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort, headers: req.headers };
}

/** Like the app's forceCloseConnections: an output stream may follow a process for hours. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
