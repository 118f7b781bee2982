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
  /** How often every running sandbox's liveness is checked. @default 5000 ($SHED_LIVENESS_INTERVAL_MS) */
  livenessIntervalMs: number;
  /** How often orphans are swept; 0: only at start and on demand. @default 600000 ($SHED_SWEEP_INTERVAL_MS) */
  sweepIntervalMs: number;
}

const USAGE = 'usage: shedd [--data-dir DIR] [--run-dir DIR] [--socket PATH] [--log-level LEVEL] [--ready-fd N]'
  + ' [--liveness-interval-ms N] [--sweep-interval-ms N]';

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): DaemonConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        'data-dir': { type: 'string' }, 'run-dir': { type: 'string' }, socket: { type: 'string' },
        'log-level': { type: 'string' }, 'ready-fd': { type: 'string' },
        'liveness-interval-ms': { type: 'string' }, 'sweep-interval-ms': { type: 'string' },
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
    livenessIntervalMs: millis('liveness-interval-ms', values['liveness-interval-ms'] ?? env['SHED_LIVENESS_INTERVAL_MS'], 5000, 100),
    sweepIntervalMs: millis('sweep-interval-ms', values['sweep-interval-ms'] ?? env['SHED_SWEEP_INTERVAL_MS'], 600_000, 0),
  };
}

function millis(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw invalidArgument(`--${flag} must be a whole number of milliseconds, at least ${min}; got '${value}'\n${USAGE}`);
  return n;
}
