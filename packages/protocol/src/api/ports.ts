// Ports of a sandbox reached from the host: the HTTP/WebSocket proxy, the raw TCP tunnel
// (an HTTP upgrade) and published host ports. The bytes always travel through the agent
// (TCP_CONNECT), so they work in every network mode.
import { Type, type Static } from '@sinclair/typebox';
import { Closed } from './common.js';

export const PortNumber = Type.Integer({ minimum: 1, maximum: 65_535 });

export const PortParams = Closed({
  sandbox: Type.String({ minLength: 1, maxLength: 64 }),
  port: PortNumber,
});
export type PortParams = Static<typeof PortParams>;

/** `shed create --publish [HOSTIP:]HOSTPORT:PORT`: shedd listens on the host and forwards to the sandbox's port. */
export const PublishedPort = Closed({
  hostPort: PortNumber,
  port: PortNumber,
  /** Host address to listen on; anything but loopback exposes the sandbox's port to that network. @default 127.0.0.1 */
  hostIp: Type.Optional(Type.String({ minLength: 2, maxLength: 45, pattern: '^[0-9a-fA-F:.]+$' })),
});
export type PublishedPort = Static<typeof PublishedPort>;

export const PublishedPorts = Type.Array(PublishedPort, { maxItems: 64 });
