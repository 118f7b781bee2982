import { ShedApiError, type Sandbox } from '@shed/sdk';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connect, type GlobalOptions } from '../connect.js';
import { UsageError, printJson } from '../output.js';

export interface ForwardFlags {
  address?: string;
}

/** `[LOCAL:]REMOTE`: the local port defaults to the remote one; 0 picks a free one. */
export function parseForward(spec: string): { localPort: number; port: number } {
  const m = /^(?:([0-9]{1,5}):)?([0-9]{1,5})$/.exec(spec);
  const port = Number(m?.[2]);
  const localPort = m?.[1] === undefined ? port : Number(m[1]);
  if (m === null || port < 1 || port > 65_535 || localPort > 65_535) {
    throw new UsageError(`'${spec}' is not [LOCAL:]REMOTE with ports from 1 to 65535 (LOCAL 0 picks a free port)`);
  }
  return { localPort, port };
}

/**
 * `shed port-forward ID [LOCAL:]REMOTE`: listens on the host and tunnels each connection to
 * the sandbox's port through shedd (an upgraded connection per client), until Ctrl-C.
 */
export async function portForwardCommand(ref: string, spec: string, f: ForwardFlags, g: GlobalOptions): Promise<number> {
  const { localPort, port } = parseForward(spec);
  const shed = await connect(g);
  const sb = await shed.sandboxes.get(ref);
  // Half-open: a client's EOF is passed on (the sandbox side may still answer).
  const server = createServer({ allowHalfOpen: true }, (client) => void forward(sb, port, client));
  server.listen(localPort, f.address ?? '127.0.0.1');
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]: unknown[]) => {
    throw new ShedApiError('failed_precondition', `cannot listen on ${f.address ?? '127.0.0.1'}:${localPort}: ${(err as Error).message}`); // 'error' carries an Error
  })]);
  const addr = server.address() as AddressInfo; // a TCP server's address is an AddressInfo
  if (g.json === true) printJson({ sandbox: sb.id, localAddress: addr.address, localPort: addr.port, port });
  else process.stdout.write(`forwarding ${addr.address}:${addr.port} -> ${sb.id}:${port} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  server.close();
  shed.close();
  return 0;
}

async function forward(sb: Sandbox, port: number, client: Socket): Promise<void> {
  client.on('error', () => undefined);
  let tunnel: Socket;
  try {
    tunnel = await sb.ports.connect(port);
  } catch (err) {
    process.stderr.write(`shed: port ${port}: ${err instanceof Error ? err.message : String(err)}\n`);
    client.destroy();
    return;
  }
  tunnel.on('error', () => client.destroy());
  client.on('error', () => tunnel.destroy());
  client.pipe(tunnel);
  tunnel.pipe(client);
  client.on('close', () => tunnel.destroy());
  tunnel.on('close', () => client.destroy());
}
