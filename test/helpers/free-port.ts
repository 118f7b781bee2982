// A loopback TCP port for a server a test starts as a child (shedd's TCP listener, a registry).
import { createServer } from 'node:net';

/** A port free on 127.0.0.1 right now (bound, then released); another process may take it before the caller binds it. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}
