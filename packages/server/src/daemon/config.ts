import { parseArgs } from 'node:util';
import { DEFAULT_SOCKET_PATH } from '@shed/protocol';
import type { IdMap } from '../core/driver.js';
import { ShedError, invalidArgument } from '../core/errors.js';
import { buildPoolSpec, type PoolSpec } from '../core/pools/pool-spec.js';
import type { ContainerDriverOptions } from '../drivers/container/driver.js';
import { DEFAULT_NETWORK, type NetworkSettings } from '../net/settings.js';
import { DEFAULT_CONFIG_PATH, readConfigFile, type ConfigFileRef } from './config-file.js';
import { validateLayer, type ConfigLayer } from './config-schema.js';

/** The token is read from a file (mode 0600) or taken from $SHED_TOKEN. */
export type TokenSource = { readonly file: string } | { readonly env: 'SHED_TOKEN' };

/** A TCP address to serve the API on. */
export interface TcpAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * shedd's settings. Flags win over environment variables, which win over the config file,
 * which wins over the defaults. docs/config.md documents every one.
 */
export interface DaemonConfig {
  /** The config file that was read, if any. @default /etc/shed/shedd.toml when it exists ($SHED_CONFIG, --config) */
  configPath: string | undefined;
  /** Durable state: database, images, sandboxes' writable layers. @default /var/lib/shed */
  dataDir: string;
  /** Transient state (tmpfs): agent sockets, handles.json, the log of an on-demand start. @default /run/shed */
  runDir: string;
  /** The API's unix socket. @default /run/shed/shed.sock (shed.sock in runDir) */
  socketPath: string;
  /** @default 0o600, or 0o660 with socketGroup */
  socketMode: number;
  /** Group the socket is chown'd to, by name or gid. @default none (root's group) */
  socketGroup: string | number | undefined;
  /** @default 'info' */
  logLevel: string;
  /** Also serve the API over TCP, guarded by a bearer token. @default none */
  tcp: TcpAddress | undefined;
  /**
   * Where the TCP listener's token comes from: --token-file or $SHED_TOKEN_FILE, else
   * $SHED_TOKEN, else the file's tokenFile. @default none
   */
  token: TokenSource | undefined;
  /** An inherited fd to write "READY\n" to once the API serves (flag only). @default none */
  readyFd: number | undefined;
  /** The container driver's knobs. @default the driver's defaults */
  container: ContainerDriverOptions;
  /** Sandbox root's host id and the number of ids mapped. @default { hostId: 100000, size: 65536 } */
  idMap: IdMap;
  /** How often every running sandbox's liveness is checked. @default 5000 */
  livenessIntervalMs: number;
  /** How often orphans are swept; 0: only at start and on demand. @default 600000 */
  sweepIntervalMs: number;
  /** The image store's knobs and the cache cap. @default no cap, the store's defaults */
  images: ImageSettings;
  /** Network 'nat': bridge, subnet, DNS. @default net/settings.ts DEFAULT_NETWORK */
  network: NetworkSettings;
  /** Warm pools of the config file ([pools.NAME]; file only); read-only through the API. @default none */
  pools: PoolSpec[];
}

/** [images] in the file. */
export interface ImageSettings {
  /** Evict least recently used images past this many allocated bytes. @default no cap */
  maxCacheBytes?: number;
  /** Images used within this window are never evicted. @default 60000 */
  pruneGraceMs?: number;
  /** Where the debian build's tarball is cached. @default /var/cache/shed */
  cacheDir?: string;
  /** Mirror for debootstrap. @default the host's apt mirror */
  debianMirror?: string;
  /** @default /bin/busybox */
  busyboxPath?: string;
  /** @default skopeo in PATH */
  skopeoPath?: string;
}

/** Settings that flags and environment variables reach, by their key in the file. */
const CLI_OPTIONS = [
  { key: 'dataDir', flag: 'data-dir', env: 'SHED_DATA_DIR' },
  { key: 'runDir', flag: 'run-dir', env: 'SHED_RUN_DIR' },
  { key: 'socket', flag: 'socket', env: 'SHED_SOCKET' },
  { key: 'socketMode', flag: 'socket-mode', env: 'SHED_SOCKET_MODE', convert: parseMode },
  { key: 'socketGroup', flag: 'socket-group', env: 'SHED_SOCKET_GROUP', convert: (s: string) => (/^\d+$/.test(s) ? Number(s) : s) },
  { key: 'logLevel', flag: 'log-level', env: 'SHED_LOG_LEVEL' },
  { key: 'tcp', flag: 'listen-tcp', env: 'SHED_LISTEN_TCP' },
  { key: 'tokenFile', flag: 'token-file', env: 'SHED_TOKEN_FILE' },
  { key: 'container.runtime', flag: 'runtime', env: 'SHED_RUNTIME' },
  { key: 'livenessIntervalMs', flag: 'liveness-interval-ms', env: 'SHED_LIVENESS_INTERVAL_MS', convert: wholeNumber },
  { key: 'sweepIntervalMs', flag: 'sweep-interval-ms', env: 'SHED_SWEEP_INTERVAL_MS', convert: wholeNumber },
] as const;

export const USAGE = `usage: shedd [--config FILE] ${CLI_OPTIONS.map((o) => `[--${o.flag} ${o.flag.split('-').pop()?.toUpperCase() ?? 'VALUE'}]`).join(' ')} [--ready-fd N]`;

export const DEFAULT_ID_MAP: IdMap = { hostId: 100_000, size: 65_536 };

/** Reads flags, environment and the config file, and merges them over the defaults. */
export async function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv, defaultConfigPath = DEFAULT_CONFIG_PATH): Promise<DaemonConfig> {
  const values = parseFlags(argv);
  const fileRef = configFileRef(values['config'], env['SHED_CONFIG'], defaultConfigPath);
  const file = await readConfigFile(fileRef);
  const fromEnv = layerOf((o) => env[o.env], (o) => `$${o.env}`, 'environment');
  const fromFlags = layerOf((o) => values[o.flag], (o) => `--${o.flag}`, 'command line');
  const readyFd = values['ready-fd'];
  if (readyFd !== undefined && !/^\d+$/.test(readyFd)) throw invalidArgument(`--ready-fd must be a file descriptor number\n${USAGE}`);
  const config = merge([fromFlags, fromEnv, file ?? {}], file === undefined ? undefined : fileRef.path, readyFd === undefined ? undefined : Number(readyFd));
  config.token = tokenSource(fromFlags.tokenFile ?? fromEnv.tokenFile, env['SHED_TOKEN'], file?.tokenFile);
  config.pools = configPools(file?.pools, fileRef.path);
  return config;
}

/** [pools.NAME] tables, checked by the same rules as the API's (min ≤ targetFree ≤ max, the budget). */
function configPools(tables: ConfigLayer['pools'], path: string): PoolSpec[] {
  return Object.entries(tables ?? {}).map(([name, cmd]) => {
    try {
      return buildPoolSpec(name, cmd);
    } catch (err) {
      if (!(err instanceof ShedError)) throw err;
      throw invalidArgument(`${path}: [pools.${name}]: ${err.message}`, { pool: name });
    }
  });
}

function tokenSource(namedFile: string | undefined, envToken: string | undefined, fileTokenFile: string | undefined): TokenSource | undefined {
  if (namedFile !== undefined) return { file: namedFile };
  if (envToken !== undefined && envToken !== '') return { env: 'SHED_TOKEN' };
  return fileTokenFile === undefined ? undefined : { file: fileTokenFile };
}

function parseFlags(argv: readonly string[]): Record<string, string | undefined> {
  const options: Record<string, { type: 'string' }> = { config: { type: 'string' }, 'ready-fd': { type: 'string' } };
  for (const o of CLI_OPTIONS) options[o.flag] = { type: 'string' };
  try {
    return parseArgs({ args: [...argv], strict: true, options }).values as Record<string, string | undefined>; // every option is a string option
  } catch (err) {
    throw invalidArgument(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
}

function configFileRef(flag: string | undefined, env: string | undefined, defaultPath: string): ConfigFileRef {
  const named = flag ?? (env === '' ? undefined : env);
  return named === undefined ? { path: defaultPath, explicit: false } : { path: named, explicit: true };
}

type CliOption = (typeof CLI_OPTIONS)[number];

/** One source's strings as a layer of the file's shape, validated with the file's schema. */
function layerOf(get: (o: CliOption) => string | undefined, name: (o: CliOption) => string, source: string): ConfigLayer {
  const layer: Record<string, unknown> = {};
  for (const o of CLI_OPTIONS) {
    const raw = get(o);
    if (raw === undefined || raw === '') continue;
    const value = 'convert' in o ? o.convert(raw) : raw;
    const [head, tail] = o.key.split('.');
    if (head === undefined) continue;
    if (tail === undefined) layer[head] = value;
    else layer[head] = { ...(layer[head] as Record<string, unknown> | undefined), [tail]: value }; // sections are plain objects built here
  }
  const byKey = new Map<string, string>(CLI_OPTIONS.map((o) => [o.key, name(o)]));
  return validateLayer(layer, source, (keyPath) => byKey.get(keyPath) ?? keyPath);
}

/** Digits become a number; anything else stays a string, for the schema to refuse by name. */
function wholeNumber(s: string): number | string {
  return /^\d+$/.test(s) ? Number(s) : s;
}

/** "0660", "660" and "0o660" are all octal; a mode is never meant in decimal. */
function parseMode(s: string): number | string {
  const m = /^(?:0o?)?([0-7]{3,4})$/.exec(s);
  return m?.[1] === undefined ? s : parseInt(m[1], 8);
}

function merge(layers: readonly ConfigLayer[], configPath: string | undefined, readyFd: number | undefined): DaemonConfig {
  const pick = <K extends keyof ConfigLayer>(k: K): ConfigLayer[K] => layers.map((l) => l[k]).find((v) => v !== undefined);
  const runDir = pick('runDir') ?? '/run/shed';
  const socketGroup = pick('socketGroup');
  const container: ContainerDriverOptions = {};
  const images: ImageSettings = {};
  const network: Partial<NetworkSettings> = {};
  // Section keys merge one by one: a flag for the runtime keeps the file's runtimePath.
  for (const l of [...layers].reverse()) {
    Object.assign(container, l.container);
    Object.assign(images, l.images);
    Object.assign(network, l.network);
  }
  return {
    configPath,
    dataDir: pick('dataDir') ?? '/var/lib/shed',
    runDir,
    socketPath: pick('socket') ?? (runDir === '/run/shed' ? DEFAULT_SOCKET_PATH : `${runDir}/shed.sock`),
    socketMode: pick('socketMode') ?? (socketGroup === undefined ? 0o600 : 0o660),
    socketGroup,
    logLevel: pick('logLevel') ?? 'info',
    tcp: parseTcp(pick('tcp')),
    token: undefined,
    readyFd,
    container,
    images,
    network: { ...DEFAULT_NETWORK, ...network },
    idMap: { ...(pick('idMap') ?? DEFAULT_ID_MAP) },
    livenessIntervalMs: pick('livenessIntervalMs') ?? 5000,
    sweepIntervalMs: pick('sweepIntervalMs') ?? 600_000,
    pools: [],
  };
}

/** HOST:PORT, with an IPv6 host in brackets ([::1]:7420). */
export function parseTcp(s: string | undefined): TcpAddress | undefined {
  if (s === undefined) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(s);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !(port >= 1 && port <= 65_535)) {
    throw invalidArgument(`tcp: '${s}' is not HOST:PORT (e.g. 127.0.0.1:7420 or [::1]:7420, port 1-65535)`);
  }
  return { host, port };
}
