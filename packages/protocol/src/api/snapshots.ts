import { Type, type Static } from '@sinclair/typebox';
import { Closed, Nullable, SandboxParams, Time, Timings } from './common.js';
import { NETWORK_MODES, SANDBOX_NAME_PATTERN } from './limits.js';
import { EgressPolicy, SandboxInfo } from './sandboxes.js';

// Filesystem snapshots (layers) of running sandboxes and forks made from them (docs/snapshots.md).

export const LAYER_ID_PATTERN = '^ly-[0-9a-f]{16}$';
/** Most sandboxes one fork request makes. */
export const MAX_FORK_COUNT = 32;

export const SnapshotParams = Closed({ id: Type.String({ pattern: LAYER_ID_PATTERN, description: 'Snapshot (layer) id' }) });
export type SnapshotParams = Static<typeof SnapshotParams>;

export { SandboxParams as SnapshotSandboxParams };

export const SnapshotInfo = Closed({
  layerId: Type.String({ pattern: LAYER_ID_PATTERN }),
  sandbox: Type.String({ description: 'The sandbox it was taken of (it may be gone since)' }),
  parent: Nullable(Type.String({ description: 'The snapshot layer below it, when taken of a fork' })),
  imageDigest: Type.String(),
  depth: Type.Integer({ minimum: 1, description: 'Layers in its chain, itself included' }),
  bytes: Type.Integer({ minimum: 0, description: 'Allocated bytes of the layer' }),
  method: Type.Union([Type.Literal('reflink'), Type.Literal('copy')]),
  createdAt: Time,
  forks: Type.Array(Type.String(), { description: 'Sandboxes forked from it that still exist' }),
});
export type SnapshotInfo = Static<typeof SnapshotInfo>;

export const SnapshotRequest = Closed({
  memory: Type.Optional(Type.Boolean({
    description: 'Also capture process memory. Refused with `unimplemented` (501) where the host cannot (see `shed doctor`, memory-snapshots)',
  })),
});
export type SnapshotRequest = Static<typeof SnapshotRequest>;

export const SnapshotResponse = Closed({ ...SnapshotInfo.properties, timings: Timings });
export type SnapshotResponse = Static<typeof SnapshotResponse>;

export const ListSnapshotsResponse = Closed({ snapshots: Type.Array(SnapshotInfo) });
export type ListSnapshotsResponse = Static<typeof ListSnapshotsResponse>;

export const ForkRequest = Closed({
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FORK_COUNT, default: 1, description: 'How many sandboxes' })),
  names: Type.Optional(Type.Array(Type.String({ pattern: SANDBOX_NAME_PATTERN }), {
    minItems: 1, maxItems: MAX_FORK_COUNT, description: 'One name per fork',
  })),
  network: Type.Optional(Type.Union(NETWORK_MODES.map((m) => Type.Literal(m)), { description: "Each fork's network; 'nat' forks each get their own address" })),
  egress: Type.Optional(EgressPolicy),
});
export type ForkRequest = Static<typeof ForkRequest>;

export const ForkResponse = Closed({ sandboxes: Type.Array(SandboxInfo) });
export type ForkResponse = Static<typeof ForkResponse>;

export const DiffQuery = Closed({
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('tar')], {
    default: 'json', description: "'tar' streams the changes as an OCI layer tar (whiteouts for deletions)",
  })),
});
export type DiffQuery = Static<typeof DiffQuery>;

const Paths = Type.Array(Type.String({ description: 'Absolute path inside the sandbox' }));

export const DiffResponse = Closed({
  added: Paths,
  modified: Paths,
  deleted: Paths,
  opaque: Type.Array(Type.String(), { description: 'Directories that hide everything the lowers had below them' }),
});
export type DiffResponse = Static<typeof DiffResponse>;

export const RollbackRequest = Closed({
  snapshot: Type.String({ pattern: LAYER_ID_PATTERN, description: 'A snapshot taken of this sandbox, or one its files come from' }),
});
export type RollbackRequest = Static<typeof RollbackRequest>;

export const CommitRequest = Closed({
  name: Type.String({ minLength: 1, maxLength: 512, description: "The image's name ('app:v2'); it moves from any image that had it" }),
});
export type CommitRequest = Static<typeof CommitRequest>;
