// The container driver's snapshot capability: layers are overlayfs directories.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { CapabilityProbe, DriverHandles, IdMap, DriverSnapshots, LayerChange, LayerWrite, SnapshotUpperOptions, UpperSnapshot } from '../../../core/driver.js';
import { ShedError } from '../../../core/errors.js';
import { parseContainerHandles } from '../handles.js';
import { overlayDirs } from '../overlay.js';
import type { RuntimeName } from '../runtime.js';
import type { Spawner } from '../spawner.js';
import { probeCriu } from './criu-probe.js';
import { diffLayer } from './diff.js';
import { exportChangesTar } from './export-tar.js';
import { flattenLayers } from './flatten.js';
import { allocatedBytes } from './copy-tree.js';
import { captureStoppedUpper, snapshotUpper, thawIfFrozen, whileFrozen } from './snapshot.js';

export class ContainerSnapshots implements DriverSnapshots {
  readonly #runtime: () => Promise<{ name: RuntimeName; path: string } | null>;
  readonly #spawner: () => Promise<Spawner | undefined>;
  #criu: Promise<CapabilityProbe> | undefined;

  /**
   * `runtime`: the OCI runtime the driver chose (for its checkpoint support); `spawner`: the
   * driver's spawn helper once probed, which starts cp and sync without forking the daemon.
   */
  constructor(runtime: () => Promise<{ name: RuntimeName; path: string } | null>, spawner: () => Promise<Spawner | undefined>) {
    this.#runtime = runtime;
    this.#spawner = spawner;
  }

  async snapshotUpper(handles: DriverHandles, destDir: string, opts: SnapshotUpperOptions = {}): Promise<UpperSnapshot> {
    const spawner = await this.#spawner();
    return snapshotUpper(parseContainerHandles(handles).data, destDir, spawner === undefined ? opts : { ...opts, spawner });
  }

  upperDirOf(handles: DriverHandles): string {
    return overlayDirs(parseContainerHandles(handles).data.stateDir).upper;
  }

  upperDirIn(stateDir: string): string {
    return overlayDirs(stateDir).upper;
  }

  async captureStopped(upperDir: string, destDir: string, opts: Pick<SnapshotUpperOptions, 'signal' | 'flush'> = {}): Promise<UpperSnapshot> {
    const spawner = await this.#spawner();
    return captureStoppedUpper(upperDir, destDir, spawner === undefined ? opts : { ...opts, spawner });
  }

  async thawAfterCrash(handles: DriverHandles): Promise<boolean> {
    return thawIfFrozen(parseContainerHandles(handles).data);
  }

  /** du before rm: what the removal frees, in allocated blocks. */
  async discardLayer(dir: string, opts: { signal?: AbortSignal } = {}): Promise<number> {
    if (!existsSync(dir)) return 0;
    const bytes = await allocatedBytes(dir, opts.signal).catch(() => 0);
    await rm(dir, { recursive: true, force: true });
    return bytes;
  }

  /** The upper is read frozen, so no directory can turn into a symlink during the walk. */
  async diffUpper(handles: DriverHandles, lowers: readonly string[], opts: { signal?: AbortSignal; maxFrozenMs?: number } = {}): Promise<LayerChange[]> {
    const d = parseContainerHandles(handles).data;
    const upper = overlayDirs(d.stateDir).upper;
    const maxFrozenMs = opts.maxFrozenMs ?? 10_000;
    const r = await whileFrozen(d, maxFrozenMs, async (timeoutMs) => {
      const late = AbortSignal.timeout(timeoutMs);
      try {
        return await diffLayer(upper, lowers, { signal: opts.signal === undefined ? late : AbortSignal.any([opts.signal, late]) });
      } catch (err) {
        if (late.aborted && opts.signal?.aborted !== true) throw new ShedError('unavailable', `the diff of ${d.containerId} took longer than ${maxFrozenMs} ms frozen and was stopped`, { cause: err });
        throw err;
      }
    });
    return r.value;
  }

  flattenLayers(layers: readonly string[], destDir: string, opts?: { signal?: AbortSignal }): Promise<LayerWrite> {
    return flattenLayers(layers, destDir, opts);
  }

  diffLayer(layerDir: string, lowers: readonly string[], opts?: { signal?: AbortSignal }): Promise<LayerChange[]> {
    return diffLayer(layerDir, lowers, opts);
  }

  async exportChanges(layerDir: string, lowers: readonly string[], out: Writable, opts: { idMap?: IdMap; signal?: AbortSignal } = {}): Promise<LayerChange[]> {
    const changes = await diffLayer(layerDir, lowers, opts);
    await exportChangesTar(layerDir, changes, out, opts);
    return changes;
  }

  /** Probed once: `criu check` takes ~100 ms and the kernel does not change under it. */
  probeMemorySnapshots(): Promise<CapabilityProbe> {
    this.#criu ??= this.#runtime().then((runtime) => probeCriu({ runtime }));
    return this.#criu;
  }
}
