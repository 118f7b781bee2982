// Moving bytes between an API connection and a tunnel to a sandbox port (an agent stream):
// a proxied HTTP request, a proxied upgrade (WebSocket) and the raw TCP tunnel. Each
// request gets its own tunnel, so nothing is pooled and nothing outlives the request.
import { STATUS_CODES, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { FORWARDED_PREFIX_HEADER, SHED_ERROR_HEADER, TCP_UPGRADE_PROTOCOL } from '@shed/protocol';
import { ShedError } from '../core/errors.js';
import { errorBody, httpStatus } from './errors.js';

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1): never forwarded. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/** Path and query inside the sandbox: what follows `/v1/sandboxes/:sandbox/ports/:port`. */
export function upstreamPath(url: string): { path: string; prefix: string } {
  const q = url.indexOf('?');
  const [pathname, query] = q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q)];
  const prefix = pathname.split('/').slice(0, 6).join('/'); // '', v1, sandboxes, :sandbox, ports, :port
  const rest = pathname.slice(prefix.length);
  return { prefix, path: `${rest.startsWith('/') ? rest : `/${rest}`}${query}` };
}

function forwardHeaders(h: IncomingHttpHeaders, prefix: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const named = new Set((h.connection ?? '').split(',').map((s) => s.trim().toLowerCase()));
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  out[FORWARDED_PREFIX_HEADER] = prefix;
  // One tunnel per request: the sandbox server closes after answering, which ends the tunnel.
  out['connection'] = 'close';
  return out;
}

/** Forwards one HTTP request over `tunnel` and streams the answer back, with backpressure both ways. */
export function proxyHttp(req: IncomingMessage, res: ServerResponse, tunnel: Duplex): void {
  const { path, prefix } = upstreamPath(req.url ?? '/');
  const upstream = httpRequest({ method: req.method, path, headers: forwardHeaders(req.headers, prefix), createConnection: () => tunnel });
  upstream.on('response', (up) => {
    const headers: OutgoingHttpHeaders = {};
    const named = new Set((up.headers.connection ?? '').split(',').map((s) => s.trim().toLowerCase()));
    for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) headers[k] = v;
    res.writeHead(up.statusCode ?? 502, up.statusMessage, headers);
    up.pipe(res);
    up.on('error', () => res.destroy());
  });
  upstream.on('error', (err) => {
    if (res.headersSent) res.destroy();
    else sendError(res, new ShedError('unavailable', `the server in the sandbox broke off the request: ${err.message}`, { cause: err }));
  });
  // The client went away before the answer was complete: drop the tunnel (the agent resets it).
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

/**
 * Forwards an upgrade request (a WebSocket handshake) over `tunnel`, then pipes raw bytes
 * both ways: the sandbox server's own 101 (or refusal) goes back as it is.
 */
export function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, tunnel: Duplex): void {
  const { path, prefix } = upstreamPath(req.url ?? '/');
  const lines = [`${req.method ?? 'GET'} ${path} HTTP/1.1`];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? '';
    // A header shed consumed (the bearer token, removed by the TCP listener) stays here.
    if (req.headers[name.toLowerCase()] !== undefined) lines.push(`${name}: ${req.rawHeaders[i + 1] ?? ''}`);
  }
  lines.push(`${FORWARDED_PREFIX_HEADER}: ${prefix}`, '', '');
  tunnel.write(lines.join('\r\n'));
  if (head.byteLength > 0) tunnel.write(head);
  splice(socket, tunnel);
}

/** The raw TCP tunnel: 101, then the port's bytes both ways. */
export function acceptTcpTunnel(socket: Duplex, head: Buffer, tunnel: Duplex): void {
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${TCP_UPGRADE_PROTOCOL}\r\n\r\n`);
  if (head.byteLength > 0) tunnel.write(head);
  splice(socket, tunnel);
}

/**
 * Pipes a and b into each other. An end on one side half-closes the other (the agent turns
 * it into shutdown(SHUT_WR)); an error or a close on either side destroys both.
 */
export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const destroyBoth = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', destroyBoth);
  b.on('error', destroyBoth);
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

/** A JSON error on a response that has not started. */
export function sendError(res: ServerResponse, e: ShedError): void {
  const body = JSON.stringify(errorBody(e));
  res.writeHead(httpStatus(e.code), { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), [SHED_ERROR_HEADER]: e.code });
  res.end(body);
}

/** A JSON error on an upgrade socket (no ServerResponse is in charge of it), then close. */
export function sendSocketError(socket: Duplex, e: ShedError): void {
  const body = JSON.stringify(errorBody(e));
  const status = httpStatus(e.code);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json\r\n${SHED_ERROR_HEADER}: ${e.code}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
