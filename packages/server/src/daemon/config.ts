import { parseArgs } from 'node:util';
import { DEFAULT_SOCKET_PATH } from '@shed/protocol';
import { invalidArgument } from '../core/errors.js';

/** shedd's settings. Flags win over environment variables, which win over the defaults. */
export interface DaemonConfig {
  /** Durable state: database, images, sandboxes' writable layers. @default /var/lib/shed ($SHED_DATA_DIR) */
  dataDir: string;
  /** Transient state (tmpfs): agent sockets, handles.json, the log of an on-demand start. @default /run/shed ($SHED_RUN_DIR) */
  runDir: string;
  /** The API's unix socket, mode 0600. @default /run/shed/shed.sock ($SHED_SOCKET) */
  socketPath: string;
  /** @default 'info' ($SHED_LOG_LEVEL) */
  logLevel: string;
  /** An inherited fd to write "READY\n" to once the API serves. @default none */
  readyFd: number | undefined;
}

const USAGE = 'usage: shedd [--data-dir DIR] [--run-dir DIR] [--socket PATH] [--log-level LEVEL] [--ready-fd N]';

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): DaemonConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        'data-dir': { type: 'string' }, 'run-dir': { type: 'string' }, socket: { type: 'string' },
        'log-level': { type: 'string' }, 'ready-fd': { type: 'string' },
      },
    }));
  } catch (err) {
    throw invalidArgument(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
  const runDir = values['run-dir'] ?? env['SHED_RUN_DIR'] ?? '/run/shed';
  const readyFd = values['ready-fd'];
  if (readyFd !== undefined && !/^\d+$/.test(readyFd)) throw invalidArgument(`--ready-fd must be a file descriptor number\n${USAGE}`);
  return {
    dataDir: values['data-dir'] ?? env['SHED_DATA_DIR'] ?? '/var/lib/shed',
    runDir,
    socketPath: values.socket ?? env['SHED_SOCKET'] ?? (runDir === '/run/shed' ? DEFAULT_SOCKET_PATH : `${runDir}/shed.sock`),
    logLevel: values['log-level'] ?? env['SHED_LOG_LEVEL'] ?? 'info',
    readyFd: readyFd === undefined ? undefined : Number(readyFd),
  };
}
