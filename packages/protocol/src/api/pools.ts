import { Type, type Static } from '@sinclair/typebox';
import { ERROR_CODES } from '../errors.js';
import { Closed, Nullable, Time } from './common.js';
import { LIMITS, SANDBOX_NAME_PATTERN, NETWORK_MODES } from './limits.js';
import { LAYER_ID_PATTERN } from './snapshots.js';

// Warm pools: sandboxes kept running ahead of demand, per image (or snapshot) and resource
// profile; a create that matches one claims a member instead of starting one (docs/api.md).

/** Most free members one pool may keep. */
export const MAX_POOL_MEMBERS = 64;

const members = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_POOL_MEMBERS, description });
const int = (l: { min: number; max: number; default: number }, description: string) =>
  Type.Integer({ minimum: l.min, maximum: l.max, default: l.default, description });

export const PoolParams = Closed({ name: Type.String({ pattern: SANDBOX_NAME_PATTERN, description: 'Pool name' }) });
export type PoolParams = Static<typeof PoolParams>;

export const SetPoolRequest = Closed({
  image: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'Image name or digest; exactly one of image and snapshot' })),
  snapshot: Type.Optional(Type.String({ pattern: LAYER_ID_PATTERN, description: 'A snapshot: members are forks of it' })),
  memoryMiB: Type.Optional(int(LIMITS.memoryMiB, 'Memory limit of each member, MiB')),
  cpuMillis: Type.Optional(int(LIMITS.cpuMillis, 'CPU limit of each member, thousandths of a core')),
  pidsMax: Type.Optional(int(LIMITS.pidsMax, 'Most processes and threads in each member')),
  network: Type.Optional(Type.Union(NETWORK_MODES.map((m) => Type.Literal(m)), { description: "'none' or 'nat' (members get the default egress policy)" })),
  min: Type.Optional(members('Free members restored first; the budget must cover them (default 0)')),
  targetFree: Type.Optional(members('Free members the replenisher keeps, from min to max (default max(1, min))')),
  max: Type.Optional(members('Most members at once, free and being made (default max(4, targetFree))')),
  memoryBudgetMiB: Type.Optional(Type.Integer({ minimum: 0, description: "Members' memory limits together never exceed it (default max x memoryMiB)" })),
});
export type SetPoolRequest = Static<typeof SetPoolRequest>;

export const PoolInfo = Closed({
  name: Type.String(),
  origin: Type.Union([Type.Literal('config'), Type.Literal('api')], { description: "'config': from shedd's config file, read-only through the API" }),
  image: Nullable(Type.String()),
  snapshot: Nullable(Type.String()),
  memoryMiB: Type.Integer(),
  cpuMillis: Type.Integer(),
  pidsMax: Type.Integer(),
  network: Type.Union(NETWORK_MODES.map((m) => Type.Literal(m))),
  min: Type.Integer(),
  targetFree: Type.Integer(),
  max: Type.Integer(),
  memoryBudgetMiB: Type.Integer(),
  capacity: Type.Integer({ description: 'Most members at once: max, and what the budget pays for' }),
  free: Type.Integer({ description: 'Members ready to be claimed' }),
  making: Type.Integer({ description: 'Members being made right now' }),
  claims: Type.Integer({ description: 'Creates served from the pool since shedd started' }),
  failures: Type.Integer({ description: 'Member creates failed in a row' }),
  lastError: Nullable(Closed({ code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c))), message: Type.String(), at: Time })),
  retryAt: Nullable(Time),
  createdAt: Time,
  updatedAt: Time,
});
export type PoolInfo = Static<typeof PoolInfo>;

export const ListPoolsResponse = Closed({ pools: Type.Array(PoolInfo) });
export type ListPoolsResponse = Static<typeof ListPoolsResponse>;
