// The public surface of @shed/server: named exports only (CONVENTIONS.md §11).

export { ERROR_CODES, ShedError, asShedError, invalidArgument, isErrorCode, notFound } from './core/errors.js';
export type { ErrorCode, ShedErrorOptions } from './core/errors.js';
export { isImageDigest, isSandboxId, newOperationId, newSandboxId } from './core/ids.js';
export type { ImageDigest, OperationId, SandboxId } from './core/ids.js';
export type {
  Driver, DriverCreateSpec, DriverHandles, DriverOpOptions, DriverProbe, IdMap, KnownIds, Liveness, NetworkMode, Resources, RunningSandbox,
  SweepRequest,
} from './core/driver.js';
export type {
  CapabilityProbe, CopyMethod, DriverSnapshots, LayerChange, LayerWrite, SnapshotUpperOptions, UpperSnapshot,
} from './core/driver.js';
export { PhaseTimer } from './core/phase-timer.js';
export { FAULT_POINTS, parseFaults } from './core/faults.js';
export type { FaultAction, FaultPoint } from './core/faults.js';
export type { PhaseTimings } from './core/phase-timer.js';

// Drivers: the container driver, its handles and the orphan sweep the daemon runs at start.
export { CleanupStack } from './drivers/cleanup-stack.js';
export { ContainerDriver } from './drivers/container/driver.js';
export type { ContainerDriverOptions } from './drivers/container/driver.js';
export { CREATE_STEPS } from './drivers/container/create.js';
export type { CreateStep } from './drivers/container/create.js';
export { parseAnyContainerHandles, parseContainerHandles } from './drivers/container/handles.js';
export type { BareContainerHandles, BareHandleData, ContainerHandleData, ContainerHandles } from './drivers/container/handles.js';
export { cgroupScope, readCgroupLayout } from './drivers/container/cgroups.js';
export type { CgroupLayout } from './drivers/container/cgroups.js';
export { runtimeRootFor } from './drivers/container/layout.js';
export { ContainerSnapshots } from './drivers/container/layers/container-snapshots.js';
export { reflinkSupported } from './drivers/container/layers/copy-tree.js';
export { copySmallTree, SMALL_TREE, type SmallTreeLimits } from './drivers/container/layers/copy-small.js';
export { copyTree } from './drivers/container/layers/copy-tree.js';
export { recordTree, type TreeRecord } from './drivers/container/layers/two-pass.js';
export { catchUpCopy } from './drivers/container/layers/snapshot.js';
export { sweepOrphans } from './drivers/container/sweep.js';
export { Spawner } from './drivers/container/spawner.js';
export type { SpawnResult } from './drivers/container/spawner.js';
export type { SweepOptions, SweepReport } from './drivers/container/sweep.js';
export { openDb } from './store/db.js';
export { DEFAULT_MAX_LAYER_DEPTH, isLayerId, LAYER_HOLDER_KINDS, lowersOf, needsFlatten, newLayerId } from './core/layers.js';
export type { LayerHolderKind, LayerId, LayerRecord, LayerRef, LayerRepo, NewLayer } from './core/layers.js';
export { SqliteLayerRepo } from './store/layers-repo.js';
export type { Db, OpenDbOptions } from './store/db.js';

// Sandboxes: the driver port, the service, its persistence, and the daemon that serves them.
export { SandboxService, type SandboxServiceDeps } from './core/sandbox-service.js';
export type { ReconcileReport } from './core/reconcile.js';
export type { Persistence, SandboxRecord } from './core/sandboxes.js';
export { sqlitePersistence } from './store/persistence.js';
export { serve, type Backends, type Running, type ServeOptions } from './daemon/serve.js';

// Images: the port core depends on, its SQLite persistence, and the store behind it.
export type {
  BuildOptions,
  BuiltinImage,
  ImageConfig,
  ImageInfo,
  ImageProgress,
  ImageService,
  ImageSource,
  ImportOptions,
  ProgressFn,
  PruneOptions,
  PruneResult,
  PullOptions,
  RemoveOptions,
  RemoveResult,
  ResolvedImage,
} from './core/images.js';
export type { BlobRecord, ImageRecord, ImageRepo, NewImage } from './core/image-repo.js';
export { SqliteImageRepo } from './store/images-repo.js';
export { ImageStore } from './images/image-store.js';
export type { ImageStoreOptions } from './images/image-store.js';
export { DEFAULT_LIMITS } from './images/limits.js';
export { unpackLayers } from './images/unpack/unpack.js';
export type { LayerFile, UnpackOptions, UnpackResult } from './images/unpack/unpack.js';
export type { ImageLimits } from './images/limits.js';
export { debianTarball, ensureDebianTarball } from './images/builtin-debian.js';

// Networking: the DNS forwarder sandboxes on 'nat' resolve through.
export { DnsForwarder, type DnsForwarderOptions } from './net/dns-forwarder.js';
