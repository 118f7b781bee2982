import { PortParams, ROUTES, TCP_UPGRADE_PROTOCOL } from '@shed/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Duplex } from 'node:stream';
import { ShedError, asShedError, invalidArgument } from '../../core/errors.js';
import type { SandboxPorts } from '../../core/sandbox-ports.js';
import type { Api, ApiDeps } from '../app.js';
import { acceptTcpTunnel, proxyHttp, proxyUpgrade, sendError, sendSocketError } from '../port-proxy.js';

const PROXY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

type Params = { sandbox: string; port: string };

/**
 * The port proxy and the raw TCP tunnel. Both take the request over in `onRequest`, before
 * fastify parses a body: the body is the sandbox server's business (any content type, any
 * size) and streams through untouched. Auth and socket permissions applied before that,
 * as for every route.
 */
export function portRoutes(app: Api, { ports }: ApiDeps): void {
  const proxy = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    reply.hijack();
    void proxyRequest(ports, req, reply);
    done();
  };
  for (const url of [ROUTES.portProxy, ROUTES.portProxy.slice(0, -2)]) {
    app.route({
      method: PROXY_METHODS,
      url,
      exposeHeadRoute: false, // HEAD is in PROXY_METHODS, proxied like the rest
      // Documents the parameters; the hook above answers before validation would run.
      schema: { params: PortParams, hide: url !== ROUTES.portProxy },
      onRequest: proxy,
      handler: unreachable,
    });
  }
  app.route({
    method: 'GET',
    url: ROUTES.portTcp,
    schema: { params: PortParams },
    onRequest: (req, reply, done) => {
      if (!isUpgrade(req)) return done();
      reply.hijack();
      void tunnelRequest(ports, req);
      done();
    },
    handler: () => {
      throw invalidArgument(`this route needs 'Connection: Upgrade' and 'Upgrade: ${TCP_UPGRADE_PROTOCOL}'`);
    },
  });
}

function unreachable(): never {
  throw new ShedError('internal', 'the port proxy answers in its onRequest hook');
}

function target(req: FastifyRequest): { sandbox: string; port: number } {
  const p = req.params as Params; // the route's own parameters, checked just below
  const port = Number(p.port);
  if (!/^[0-9]{1,5}$/.test(p.port) || port < 1 || port > 65_535) throw invalidArgument(`port must be from 1 to 65535, not '${p.port}'`);
  return { sandbox: p.sandbox, port };
}

/** Node sets `upgrade` on requests that arrived through the server's 'upgrade' event (untyped in @types/node). */
function isUpgrade(req: FastifyRequest): boolean {
  return (req.raw as { upgrade?: unknown }).upgrade === true;
}

/** The socket of an upgrade request and the bytes read past its head (kept by @fastify/websocket). */
function upgradeSocket(req: FastifyRequest): { socket: Duplex; head: Buffer } {
  const raw = req.raw as typeof req.raw & Record<symbol, unknown>; // only to read the plugin's symbol below
  const sym = Object.getOwnPropertySymbols(raw).find((s) => s.description === 'ws-head');
  const head = sym === undefined ? undefined : raw[sym];
  return { socket: req.raw.socket, head: Buffer.isBuffer(head) ? head : Buffer.alloc(0) };
}

async function proxyRequest(ports: SandboxPorts, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const upgrade = isUpgrade(req) ? upgradeSocket(req) : undefined;
  let tunnel: Duplex;
  try {
    const { sandbox, port } = target(req);
    const ac = new AbortController();
    (upgrade?.socket ?? reply.raw).once('close', () => ac.abort());
    tunnel = await ports.connect(sandbox, port, { signal: ac.signal });
  } catch (err) {
    const e = asShedError(err, 'port proxy');
    req.log.info({ code: e.code }, e.message);
    if (upgrade !== undefined) sendSocketError(upgrade.socket, e);
    else sendError(reply.raw, e);
    return;
  }
  if (upgrade !== undefined) proxyUpgrade(req.raw, upgrade.socket, upgrade.head, tunnel);
  else proxyHttp(req.raw, reply.raw, tunnel);
}

async function tunnelRequest(ports: SandboxPorts, req: FastifyRequest): Promise<void> {
  const { socket, head } = upgradeSocket(req);
  try {
    if ((req.headers.upgrade ?? '').toLowerCase() !== TCP_UPGRADE_PROTOCOL) {
      throw invalidArgument(`this route upgrades to '${TCP_UPGRADE_PROTOCOL}', not '${req.headers.upgrade ?? ''}'`);
    }
    const { sandbox, port } = target(req);
    const ac = new AbortController();
    socket.once('close', () => ac.abort());
    acceptTcpTunnel(socket, head, await ports.connect(sandbox, port, { signal: ac.signal }));
  } catch (err) {
    const e = asShedError(err, 'tcp tunnel');
    req.log.info({ code: e.code }, e.message);
    sendSocketError(socket, e);
  }
}
