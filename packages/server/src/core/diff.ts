// What a sandbox changed: its writable layer against its lowers (its snapshot chain,
// then the image rootfs). The driver walks with lstat and opens files O_NOFOLLOW, so a
// symlink the sandbox made is reported as a symlink and never followed on the host.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { IdMap, LayerChange } from './driver.js';
import type { SandboxRecord } from './sandboxes.js';
import { captureUpper, sandboxLowers, snapshotsOf, type SnapshotContext, type UpperSource } from './snapshots.js';

export interface SandboxDiff {
  readonly added: string[];
  readonly modified: string[];
  readonly deleted: string[];
  /** Directories that hide everything the lowers had below them. */
  readonly opaque: string[];
}

export function summarize(changes: readonly LayerChange[]): SandboxDiff {
  const of = (kind: LayerChange['kind']): string[] => changes.filter((c) => c.kind === kind).map((c) => c.path);
  return { added: of('added'), modified: of('modified'), deleted: of('deleted'), opaque: changes.filter((c) => c.opaque === true).map((c) => c.path) };
}

/** The changes of the sandbox `rec`: a running one's read while it is frozen, a stopped one's from its layers on disk. */
export async function diffSandbox(
  ctx: SnapshotContext, rec: SandboxRecord, src: UpperSource, imageRootfs: string, opts: { signal?: AbortSignal } = {},
): Promise<SandboxDiff> {
  const lowers = sandboxLowers(ctx.store, ctx.layersRoot, rec.spec.fromLayer, imageRootfs);
  const snapshots = snapshotsOf(ctx.driver);
  const o = opts.signal === undefined ? {} : { signal: opts.signal };
  if (src.running) return summarize(await snapshots.diffUpper(src.handles, lowers, o));
  // No upper: stopped since a rollback, before its next start makes a fresh one. Nothing changed.
  return summarize(existsSync(src.upperDir) ? await snapshots.diffLayer(src.upperDir, lowers, o) : []);
}

/** Writes the tar of the changes to `out` and removes the capture it reads; call it once. */
export type ChangesWriter = (out: Writable, opts: { signal?: AbortSignal }) => Promise<void>;

/**
 * Captures the sandbox's writable layer (frozen, like a snapshot, into a scratch directory the
 * start-up sweep removes after a crash: its name is not a layer id), so the tar is streamed
 * from a still copy at the client's pace without keeping the sandbox frozen or locked.
 */
export async function captureChanges(
  ctx: SnapshotContext, rec: SandboxRecord, src: UpperSource, imageRootfs: string, idMap: IdMap, opts: { signal?: AbortSignal } = {},
): Promise<ChangesWriter> {
  const snapshots = snapshotsOf(ctx.driver);
  const lowers = sandboxLowers(ctx.store, ctx.layersRoot, rec.spec.fromLayer, imageRootfs);
  const name = `.changes-${randomBytes(6).toString('hex')}`;
  const scratch = join(ctx.layersRoot, name);
  // Until the tar is written: the layer GC must not take the capture for a leftover.
  const release = ctx.scratch.claim(name);
  try {
    // A scratch copy removed after the stream: nothing to flush.
    await captureUpper(snapshots, src, scratch, { flush: 'none', ...(opts.signal === undefined ? {} : { signal: opts.signal }) });
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    release();
    throw err;
  }
  return async (out, o) => {
    // `out` ends only once the scratch copy is gone: a client that saw the end of the tar
    // finds nothing of it left.
    const body = new PassThrough();
    body.pipe(out, { end: false });
    try {
      await snapshots.exportChanges(scratch, lowers, body, { idMap, ...(o.signal === undefined ? {} : { signal: o.signal }) });
      await finished(body);
    } finally {
      await rm(scratch, { recursive: true, force: true });
      release();
    }
    out.end();
  };
}
