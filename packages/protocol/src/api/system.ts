import { Type, type Static } from '@sinclair/typebox';
import { Closed, Nullable } from './common.js';

export const HealthResponse = Closed(
  {
    status: Type.Literal('ok'),
    version: Type.String(),
    pid: Type.Integer(),
    uptimeMs: Type.Integer(),
    driver: Closed({ name: Type.String(), usable: Type.Boolean(), notes: Type.Array(Type.String()), problems: Type.Array(Type.String()) }),
  },

);
export type HealthResponse = Static<typeof HealthResponse>;

export const PruneSystemRequest = Closed({
  images: Type.Optional(Type.Boolean({ default: false, description: 'Also remove images no sandbox uses (like POST /v1/images/prune)' })),
});
export type PruneSystemRequest = Static<typeof PruneSystemRequest>;

export const PruneSystemResponse = Closed({
  swept: Type.Array(Type.String(), {
    description: "What the orphan sweep removed, one line each: 'runtime container …', 'cgroup …', 'mount …', 'directory …'",
  }),
  layers: Closed({
    removed: Type.Array(Type.String(), { description: 'Snapshot layers nothing held, and layer directories without a row' }),
    freedBytes: Type.Integer({ minimum: 0, description: 'Allocated bytes freed (blocks, not apparent size)' }),
  }),
  images: Nullable(Closed({ removed: Type.Array(Type.String()), freedBytes: Type.Integer() })),
});
export type PruneSystemResponse = Static<typeof PruneSystemResponse>;

export const DOCTOR_STATUSES = ['ok', 'warn', 'fail'] as const;
export type DoctorStatus = (typeof DOCTOR_STATUSES)[number];

/** One host check of `shed doctor`: `fail` means shed cannot work as configured; `warn` that an optional capability is missing. */
export const DoctorCheck = Closed({
  name: Type.String({ description: 'Stable id of the check, e.g. runtime, cgroups, kvm' }),
  status: Type.Union(DOCTOR_STATUSES.map((s) => Type.Literal(s))),
  detail: Type.String({ description: 'What was found' }),
  fix: Nullable(Type.String({ description: 'How to fix it; null when there is nothing to do' })),
});
export type DoctorCheck = Static<typeof DoctorCheck>;

export const DoctorResponse = Closed({
  /** false when any check failed. */
  ok: Type.Boolean(),
  checks: Type.Array(DoctorCheck),
});
export type DoctorResponse = Static<typeof DoctorResponse>;
