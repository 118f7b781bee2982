// The shape of shedd's settings, declared once: the TOML file is validated against it, and
// so are the values that flags and environment variables supply (after their strings are
// converted), so every source gets the same rules and the same messages.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { SANDBOX_NAME_PATTERN, SetPoolRequest } from '@shed/protocol';
import { RUNTIME_NAMES } from '../drivers/container/runtime.js';
import { invalidArgument } from '../core/errors.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const SOCKET_MODES = [0o600, 0o620, 0o640, 0o660] as const;

const AbsPath = Type.String({ pattern: '^/', minLength: 1, maxLength: 4095, description: 'an absolute path' });

/** Group names as shadow-utils accepts them (useradd's NAME_REGEX), or a numeric gid. */
const GroupRef = Type.Union([
  Type.String({ pattern: '^[a-z_][a-z0-9_-]*[$]?$', maxLength: 32 }),
  Type.Integer({ minimum: 0, maximum: 4_294_967_294 }),
], { description: 'a group name or a numeric gid' });

const ContainerSection = Type.Object({
  runtime: Type.Optional(Type.Union([Type.Literal('auto'), ...RUNTIME_NAMES.map((n) => Type.Literal(n))], { description: `one of auto, ${RUNTIME_NAMES.join(', ')}` })),
  runtimePath: Type.Optional(AbsPath),
  agentPath: Type.Optional(AbsPath),
  spawnHelperPath: Type.Optional(AbsPath),
  fixHybridCgroups: Type.Optional(Type.Boolean()),
  favorDynamicCgroups: Type.Optional(Type.Boolean()),
  readyTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
  adoptTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
}, { additionalProperties: false });

const ImagesSection = Type.Object({
  // Allocated bytes (du, not apparent size) of images and blobs; past it the least recently
  // used images not in use are evicted, at start and every imageCapIntervalMs.
  maxCacheBytes: Type.Optional(Type.Integer({ minimum: 0, description: 'a number of bytes' })),
  pruneGraceMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000 })),
  cacheDir: Type.Optional(AbsPath),
  debianMirror: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048, description: 'an http(s) URL' })),
  busyboxPath: Type.Optional(AbsPath),
  skopeoPath: Type.Optional(AbsPath),
}, { additionalProperties: false });

const NetworkSection = Type.Object({
  bridge: Type.Optional(Type.String({ pattern: '^[a-zA-Z0-9_.-]{1,15}$', description: "an interface name (1-15 letters, digits, '_', '.', '-')" })),
  subnet: Type.Optional(Type.String({ pattern: '^\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}$', description: 'an IPv4 CIDR such as 10.88.0.0/16' })),
  dns: Type.Optional(Type.Boolean()),
  resolvConf: Type.Optional(AbsPath),
  spareNetns: Type.Optional(Type.Integer({ minimum: 0, maximum: 16 })),
}, { additionalProperties: false });

// hostId ≥ 65536 keeps sandbox ids clear of the host's system and login users (which
// /etc/login.defs starts at 1000 and usually keeps below 60000).
const IdMapSection = Type.Object({
  hostId: Type.Integer({ minimum: 65_536, maximum: 4_294_901_759 }),
  size: Type.Integer({ minimum: 65_536, maximum: 16_777_216 }),
}, { additionalProperties: false });

export const ConfigFileSchema = Type.Object({
  dataDir: Type.Optional(AbsPath),
  runDir: Type.Optional(AbsPath),
  socket: Type.Optional(AbsPath),
  // connect(2) needs write permission; root keeps rw, a group may get some, others nothing:
  // whoever can use the socket controls root's daemon.
  socketMode: Type.Optional(Type.Union(SOCKET_MODES.map((m) => Type.Literal(m)), { description: 'an octal mode: 0o600, 0o620, 0o640 or 0o660 (nothing for others)' })),
  socketGroup: Type.Optional(GroupRef),
  logLevel: Type.Optional(Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { description: `one of ${LOG_LEVELS.join(', ')}` })),
  tcp: Type.Optional(Type.String({ minLength: 1, maxLength: 300, description: 'HOST:PORT' })),
  tokenFile: Type.Optional(AbsPath),
  container: Type.Optional(ContainerSection),
  images: Type.Optional(ImagesSection),
  idMap: Type.Optional(IdMapSection),
  network: Type.Optional(NetworkSection),
  livenessIntervalMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000, description: 'milliseconds, 100-3600000' })),
  sweepIntervalMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000, description: 'milliseconds, 0 (never) to 86400000' })),
  // [pools.NAME] tables, the same fields as PUT /v1/pools/NAME (core/pools/pool-spec.ts checks the rest).
  pools: Type.Optional(Type.Record(Type.String({ pattern: SANDBOX_NAME_PATTERN }), SetPoolRequest, { additionalProperties: false, description: 'tables [pools.NAME]' })),
}, { additionalProperties: false });

/** One source's settings: every key optional. */
export type ConfigLayer = Static<typeof ConfigFileSchema>;

/**
 * Checks a layer against the schema; every problem is named by where it came from
 * (`name` turns a key path such as `container.runtime` into "--runtime" or "key 'container.runtime'").
 */
export function validateLayer(value: unknown, source: string, name: (keyPath: string) => string): ConfigLayer {
  if (Value.Check(ConfigFileSchema, value)) return value;
  const problems = firstPerPath([...Value.Errors(ConfigFileSchema, value)]).map((e) => describe(e, name));
  throw invalidArgument(`${source}: ${problems.join('; ')}`, { problems });
}

/** A union's members each report an error at the same path; the union's own one is the clearest. */
function firstPerPath(errors: ValueError[]): ValueError[] {
  const seen = new Set<string>();
  return errors.filter((e) => (seen.has(e.path) ? false : (seen.add(e.path), true)));
}

function describe(e: ValueError, name: (keyPath: string) => string): string {
  const keyPath = e.path.split('/').filter((p) => p !== '').join('.');
  if (e.type === ValueErrorType.ObjectAdditionalProperties) return `unknown key '${keyPath}'`;
  const expected = (e.schema as TSchema & { description?: string }).description; // TSchema carries JSON Schema's description
  const got = keyPath === 'socketMode' && typeof e.value === 'number' ? `0o${e.value.toString(8)}` : shown(e.value);
  return `${name(keyPath)}: ${expected === undefined ? e.message.toLowerCase() : `expected ${expected}`}, got ${got}`;
}

function shown(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 60 ? `${v.slice(0, 60)}…` : v}'`;
  if (v === undefined) return 'nothing';
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'an array' : v instanceof Date ? 'a date' : 'a table';
  return String(v);
}
