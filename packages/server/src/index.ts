// The public surface of @shed/server: named exports only (CONVENTIONS.md §11).

export { ERROR_CODES, ShedError, asShedError, invalidArgument, isErrorCode, notFound } from './core/errors.js';
export type { ErrorCode, ShedErrorOptions } from './core/errors.js';
export { isImageDigest, isSandboxId, newOperationId, newSandboxId } from './core/ids.js';
export type { ImageDigest, OperationId, SandboxId } from './core/ids.js';
export type { IdMap } from './core/driver.js';

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
export { openDb } from './store/db.js';
export type { Db, OpenDbOptions } from './store/db.js';
export { SqliteImageRepo } from './store/images-repo.js';
export { ImageStore, listTemp } from './images/image-store.js';
export type { ImageStoreOptions } from './images/image-store.js';
export { DEFAULT_LIMITS } from './images/limits.js';
export type { ImageLimits } from './images/limits.js';
export { debianTarball } from './images/builtin-debian.js';
