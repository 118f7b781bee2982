import { Type } from '@sinclair/typebox';
import { ERROR_CODES } from '../core/errors.js';

// Schemas of the JSON columns of sandboxes and operations. Objects are closed
// (additionalProperties: false): a field this shedd does not know means the row was written
// by another version, and guessing is worse than saying so.

const closed = { additionalProperties: false } as const;
const StringMap = Type.Record(Type.String(), Type.String());
const Timings = Type.Record(Type.String(), Type.Number());

export const SpecColumn = Type.Object(
  {
    image: Type.String(),
    hostname: Type.String(),
    resources: Type.Object({ memoryMiB: Type.Number(), cpuMillis: Type.Number(), pidsMax: Type.Number() }, closed),
    network: Type.Union([Type.Literal('none'), Type.Literal('nat')]),
    // Added with network 'nat'.
    egress: Type.Optional(Type.Object({
      allow: Type.Array(Type.String()), deny: Type.Array(Type.String()), allowHost: Type.Boolean(), allowSandboxes: Type.Boolean(),
    }, closed)),
    env: StringMap,
    labels: StringMap,
    // Added with expiry; rows written before it simply lack them.
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    idleTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    onExpire: Type.Optional(Type.Union([Type.Literal('stop'), Type.Literal('delete')])),
    // Added with forks: the snapshot layer a fork's lowers start from.
    fromLayer: Type.Optional(Type.String({ pattern: '^ly-[0-9a-f]{16}$' })),
    // Added with published ports.
    ports: Type.Optional(Type.Array(Type.Object({ hostIp: Type.String(), hostPort: Type.Integer(), port: Type.Integer() }, closed))),
  },
  closed,
);

export const TimingsColumn = Type.Object({ create: Type.Optional(Timings), start: Type.Optional(Timings) }, closed);

export const ErrorColumn = Type.Object(
  { code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c))), message: Type.String() },
  closed,
);

/** Requests and results of operations are whatever core logged; only JSON-ness is checked. */
export const AnyColumn = Type.Unknown();
