import type { Duplex } from 'node:stream';
import { fromAgentError } from './agent-errors.js';
import { invalidArgument } from './errors.js';
import type { SandboxService } from './sandbox-service.js';

export interface PortConnectOptions {
  /** Address inside the sandbox. @default 127.0.0.1, then ::1 */
  addr?: string;
  signal?: AbortSignal;
}

/**
 * Connections to ports inside running sandboxes. They go through the agent (TCP_CONNECT),
 * which connects from inside the sandbox's own network namespace: the same path serves a
 * sandbox with no network at all and one with its own address.
 */
export class SandboxPorts {
  readonly #sandboxes: SandboxService;

  constructor(sandboxes: SandboxService) {
    this.#sandboxes = sandboxes;
  }

  /** A connected stream to `port`; nothing listening is `unavailable` with details.errno ECONNREFUSED. */
  async connect(ref: string, port: number, opts: PortConnectOptions = {}): Promise<Duplex> {
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw invalidArgument(`port must be an integer from 1 to 65535, not ${port}`, { port });
    }
    const { record, live } = this.#sandboxes.live(ref);
    try {
      return await live.agent.connectTcp(port, opts);
    } catch (err) {
      const e = fromAgentError(err, `connect to port ${port} in sandbox ${record.id}`);
      const hint = e.details['errno'] === 'ECONNREFUSED' ? '; nothing listens there yet (is the server started, and on this port?)' : '';
      e.message += hint;
      e.details['port'] = port;
      throw e;
    }
  }
}
