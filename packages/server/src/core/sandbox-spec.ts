import { ENV_NAME_PATTERN, EXPIRE_ACTIONS, HOSTNAME_PATTERN, LABEL_KEY_PATTERN, LIMITS, SANDBOX_NAME_PATTERN } from '@shed/protocol';
import type { NetworkMode } from './driver.js';
import { invalidArgument } from './errors.js';
import { buildEgress, type EgressPolicy } from './network.js';
import type { SandboxId } from './ids.js';
import type { LayerId } from './layers.js';
import { buildPublished, type PublishPortCommand } from './published-port-spec.js';
import type { ExpireAction, SandboxSpec } from './sandboxes.js';

/** What a caller asks for when creating a sandbox. Fields left out take the documented defaults. */
export interface CreateSandboxCommand {
  /** Image name or digest. */
  image: string;
  /** Unique per host. @default none */
  name?: string;
  /** @default the name, else the id */
  hostname?: string;
  /** @default 512 */
  memoryMiB?: number;
  /** @default 1000 (one core) */
  cpuMillis?: number;
  /** @default 512 */
  pidsMax?: number;
  /** @default 'none' */
  network?: NetworkMode;
  /** Only with network 'nat'. @default open: anywhere but the host and other sandboxes */
  egress?: Partial<EgressPolicy>;
  /** @default {} */
  env?: Readonly<Record<string, string>>;
  /** @default {} */
  labels?: Readonly<Record<string, string>>;
  /** A retry with the same key returns the sandbox the first call made. @default none */
  idempotencyKey?: string;
  /** Absolute lifetime, from creation. @default none */
  ttlSeconds?: number;
  /** Expires after this long with no API activity and no process but PID 1. @default none */
  idleTimeoutSeconds?: number;
  /** What expiry does. @default 'delete' when the TTL ends, 'stop' when idle */
  onExpire?: ExpireAction;
  /** A fork: the snapshot layer its filesystem starts from (set by core's fork, not by users). @default none */
  fromLayer?: LayerId;
  /** Host ports to listen on and forward to the sandbox's ports. @default none */
  ports?: readonly PublishPortCommand[];
}

const NAME = new RegExp(SANDBOX_NAME_PATTERN);
const HOSTNAME = new RegExp(HOSTNAME_PATTERN);
const ENV_NAME = new RegExp(ENV_NAME_PATTERN);
const LABEL_KEY = new RegExp(LABEL_KEY_PATTERN);

/**
 * Checks a create command and fills in defaults. The API validates the same rules from the
 * shared schema; core checks again because it is callable without the API.
 */
export function buildSpec(id: SandboxId, cmd: CreateSandboxCommand): { name: string | null; spec: SandboxSpec } {
  if (cmd.name !== undefined && !NAME.test(cmd.name)) {
    throw invalidArgument(`name '${cmd.name}' must be 1-63 letters, digits, '_', '.' or '-', and not start with 'sb-'`, { name: cmd.name });
  }
  if (cmd.image.length === 0) throw invalidArgument("image is empty; use 'default' for the built-in image");
  const ports = buildPublished(cmd.ports);
  const hostname = cmd.hostname ?? (cmd.name !== undefined && HOSTNAME.test(cmd.name) ? cmd.name : id);
  if (!HOSTNAME.test(hostname)) throw invalidArgument(`hostname '${hostname}' is not a valid host name (letters, digits, '-')`, { hostname });
  return {
    name: cmd.name ?? null,
    spec: {
      image: cmd.image,
      hostname,
      resources: {
        memoryMiB: bounded('memoryMiB', cmd.memoryMiB, LIMITS.memoryMiB),
        cpuMillis: bounded('cpuMillis', cmd.cpuMillis, LIMITS.cpuMillis),
        pidsMax: bounded('pidsMax', cmd.pidsMax, LIMITS.pidsMax),
      },
      ...network(cmd),
      env: checkedMap('env', cmd.env, ENV_NAME, LIMITS.envMax, LIMITS.envValueChars),
      labels: checkedMap('labels', cmd.labels, LABEL_KEY, LIMITS.labelsMax, LIMITS.labelValueChars),
      ...expiry(cmd),
      ...(cmd.fromLayer === undefined ? {} : { fromLayer: cmd.fromLayer }),
      ...(ports.length === 0 ? {} : { ports }),
    },
  };
}

function network(cmd: CreateSandboxCommand): Pick<SandboxSpec, 'network' | 'egress'> {
  const mode = cmd.network ?? 'none';
  if (mode !== 'none' && mode !== 'nat') throw invalidArgument(`network must be 'none' or 'nat'; got '${String(mode)}'`, { network: mode });
  if (mode === 'none') {
    if (cmd.egress !== undefined) throw invalidArgument("egress needs network 'nat': a sandbox with network 'none' reaches nothing");
    return { network: mode };
  }
  return { network: mode, egress: buildEgress(cmd.egress) };
}

/** Only the expiry fields given are stored: a spec without them is one that never expires. */
function expiry(cmd: CreateSandboxCommand): Pick<SandboxSpec, 'ttlSeconds' | 'idleTimeoutSeconds' | 'onExpire'> {
  const range = { ...LIMITS.expirySeconds, default: 0 };
  const ttl = cmd.ttlSeconds === undefined ? undefined : bounded('ttlSeconds', cmd.ttlSeconds, range);
  const idle = cmd.idleTimeoutSeconds === undefined ? undefined : bounded('idleTimeoutSeconds', cmd.idleTimeoutSeconds, range);
  if (cmd.onExpire !== undefined && !EXPIRE_ACTIONS.includes(cmd.onExpire)) {
    throw invalidArgument(`onExpire must be one of ${EXPIRE_ACTIONS.join(', ')}; got '${String(cmd.onExpire)}'`, { onExpire: cmd.onExpire });
  }
  if (cmd.onExpire !== undefined && cmd.ttlSeconds === undefined && cmd.idleTimeoutSeconds === undefined) {
    throw invalidArgument('onExpire needs ttlSeconds or idleTimeoutSeconds: without either the sandbox never expires', { onExpire: cmd.onExpire });
  }
  return {
    ...(ttl === undefined ? {} : { ttlSeconds: ttl }),
    ...(idle === undefined ? {} : { idleTimeoutSeconds: idle }),
    ...(cmd.onExpire === undefined ? {} : { onExpire: cmd.onExpire }),
  };
}

function bounded(field: string, value: number | undefined, l: { min: number; max: number; default: number }): number {
  const v = value ?? l.default;
  if (!Number.isInteger(v) || v < l.min || v > l.max) {
    throw invalidArgument(`${field} must be a whole number from ${l.min} to ${l.max}; got ${v}`, { [field]: v });
  }
  return v;
}

function checkedMap(
  field: string, map: Readonly<Record<string, string>> | undefined, key: RegExp, maxEntries: number, maxValueChars: number,
): Record<string, string> {
  const entries = Object.entries(map ?? {});
  if (entries.length > maxEntries) throw invalidArgument(`${field} has ${entries.length} entries; at most ${maxEntries}`);
  for (const [k, v] of entries) {
    if (!key.test(k)) throw invalidArgument(`${field} key '${k}' is not allowed (pattern ${key.source})`, { [field]: k });
    if (v.length > maxValueChars) throw invalidArgument(`${field} '${k}' is longer than ${maxValueChars} characters`, { [field]: k });
  }
  return Object.fromEntries(entries);
}

/** Label filters `key=value` parsed into pairs. */
export function parseLabelFilters(filters: readonly string[]): [string, string][] {
  return filters.map((f) => {
    const eq = f.indexOf('=');
    if (eq <= 0) throw invalidArgument(`label filter '${f}' must be key=value`, { label: f });
    return [f.slice(0, eq), f.slice(eq + 1)];
  });
}
