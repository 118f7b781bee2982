import { Type, type Static } from '@sinclair/typebox';
import { ERROR_CODES } from '../errors.js';
import { Closed, Env, Labels, Nullable, Time, Timings } from './common.js';
import { PublishedPorts } from './ports.js';
import { EGRESS_RULE_PATTERN, EGRESS_RULES_MAX, EXPIRE_ACTIONS, HOSTNAME_PATTERN, LIMITS, NETWORK_MODES, SANDBOX_NAME_PATTERN } from './limits.js';

const int = (l: { min: number; max: number; default: number }, description: string) =>
  Type.Integer({ minimum: l.min, maximum: l.max, default: l.default, description });
const seconds = (description: string) => Type.Integer({ minimum: LIMITS.expirySeconds.min, maximum: LIMITS.expirySeconds.max, description });
const ExpireAction = Type.Union(EXPIRE_ACTIONS.map((a) => Type.Literal(a)));
const NetworkMode = Type.Union(NETWORK_MODES.map((m) => Type.Literal(m)), {
  description: "'none': loopback only; 'nat': an address on the host's bridge, out through NAT, under the egress policy",
});
const EgressRules = (description: string) => Type.Array(Type.String({ pattern: EGRESS_RULE_PATTERN }), { maxItems: EGRESS_RULES_MAX, description });

/** What a 'nat' sandbox may reach. Other sandboxes and the host itself are unreachable unless asked for. */
export const EgressPolicy = Closed({
  allow: Type.Optional(EgressRules('IPv4 CIDR[:PORT] it may reach; empty: anywhere not denied')),
  deny: Type.Optional(EgressRules('IPv4 CIDR[:PORT] it may never reach (checked first)')),
  allowHost: Type.Optional(Type.Boolean({ description: "The host's own addresses (shedd's API included); default false" })),
  allowSandboxes: Type.Optional(Type.Boolean({ description: 'Other sandboxes that allow it too; default false' })),
});
export type EgressPolicy = Static<typeof EgressPolicy>;

export const CreateSandboxRequest = Closed(
  {
    image: Type.String({ minLength: 1, maxLength: 512, description: "Image name or digest; 'default' is the built-in busybox image" }),
    name: Type.Optional(Type.String({ pattern: SANDBOX_NAME_PATTERN, description: 'Unique per host' })),
    hostname: Type.Optional(Type.String({ pattern: HOSTNAME_PATTERN, description: 'Defaults to the name, else the id' })),
    memoryMiB: Type.Optional(int(LIMITS.memoryMiB, 'Memory limit in MiB')),
    cpuMillis: Type.Optional(int(LIMITS.cpuMillis, 'CPU limit in thousandths of a core')),
    pidsMax: Type.Optional(int(LIMITS.pidsMax, 'Most processes and threads')),
    network: Type.Optional(NetworkMode),
    egress: Type.Optional(EgressPolicy),
    env: Type.Optional(Env),
    labels: Type.Optional(Labels),
    idempotencyKey: Type.Optional(Type.String({
      minLength: 1, maxLength: LIMITS.idempotencyKeyChars,
      description: 'A retried create with the same key returns the sandbox the first one made',
    })),
    ttlSeconds: Type.Optional(seconds('Absolute lifetime, counted from creation; then onExpire applies')),
    idleTimeoutSeconds: Type.Optional(seconds(
      'Expires after this long with no API activity on it (exec, spawn, files) and no process running but PID 1',
    )),
    onExpire: Type.Optional(Type.Union(EXPIRE_ACTIONS.map((a) => Type.Literal(a)), {
      description: "What expiry does; default 'delete' when the TTL ends and 'stop' when idle",
    })),
    ports: Type.Optional(PublishedPorts),
  },

);
export type CreateSandboxRequest = Static<typeof CreateSandboxRequest>;

export const SANDBOX_STATE_NAMES = ['creating', 'running', 'paused', 'stopping', 'stopped', 'failed', 'deleting', 'deleted'] as const;

export const SandboxInfo = Closed(
  {
    id: Type.String(),
    name: Nullable(Type.String()),
    image: Type.String({ description: 'The image reference it was created from' }),
    imageDigest: Type.String(),
    driver: Type.String(),
    state: Type.Union(SANDBOX_STATE_NAMES.map((s) => Type.Literal(s))),
    stateReason: Nullable(Type.String()),
    lastError: Nullable(Closed({ code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c))), message: Type.String() })),
    hostname: Type.String(),
    memoryMiB: Type.Integer(),
    cpuMillis: Type.Integer(),
    pidsMax: Type.Integer(),
    network: NetworkMode,
    egress: Nullable(Closed({
      allow: Type.Array(Type.String()), deny: Type.Array(Type.String()), allowHost: Type.Boolean(), allowSandboxes: Type.Boolean(),
    })),
    address: Nullable(Type.String({ description: "Its IPv4 address on the bridge while running with network 'nat'" })),
    env: Env,
    labels: Labels,
    ttlSeconds: Nullable(Type.Integer()),
    idleTimeoutSeconds: Nullable(Type.Integer()),
    onExpire: Nullable(ExpireAction),
    expiresAt: Nullable(Time),
    lastActiveAt: Nullable(Time),
    fromSnapshot: Type.Optional(Type.String({ description: 'A fork: the snapshot (layer id) its files start from' })),
    createPath: Type.Union([Type.Literal('cold'), Type.Literal('warm')], { description: "'warm': its create claimed a warm pool member (see claimedFrom)" }),
    ports: Type.Optional(PublishedPorts),
    claimedFrom: Type.Optional(Type.String({ description: 'The warm pool its create claimed it from' })),
    pool: Type.Optional(Type.String({ description: 'A free member of this warm pool, not yet claimed (listed only with all=true)' })),
    timings: Closed({
      create: Type.Optional(Timings),
      start: Type.Optional(Timings),
      lastExec: Type.Optional(Timings),
    }),
    createdAt: Time,
    updatedAt: Time,
  },

);
export type SandboxInfo = Static<typeof SandboxInfo>;

export const ListSandboxesQuery = Closed({
  label: Type.Optional(Type.Array(Type.String({ pattern: '^[^=]+=.*$' }), {
    description: 'key=value; a sandbox must carry every label given',
    maxItems: LIMITS.labelsMax,
  })),
  all: Type.Optional(Type.Boolean({ default: false, description: 'Also list free warm pool members' })),
});
export type ListSandboxesQuery = Static<typeof ListSandboxesQuery>;

export const ListSandboxesResponse = Closed({ sandboxes: Type.Array(SandboxInfo) });
export type ListSandboxesResponse = Static<typeof ListSandboxesResponse>;

export const StopSandboxRequest = Closed({
  graceMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000, default: 10_000, description: 'SIGTERM, then SIGKILL after this long' })),
});
export type StopSandboxRequest = Static<typeof StopSandboxRequest>;
