// The container driver's snapshot capability: layers are overlayfs directories.
import type { Writable } from 'node:stream';
import type { CapabilityProbe, DriverHandles, IdMap, DriverSnapshots, LayerChange, LayerWrite, SnapshotUpperOptions, UpperSnapshot } from '../../../core/driver.js';
import { parseContainerHandles } from '../handles.js';
import { overlayDirs } from '../overlay.js';
import type { RuntimeName } from '../runtime.js';
import { probeCriu } from './criu-probe.js';
import { diffLayer } from './diff.js';
import { exportChangesTar } from './export-tar.js';
import { flattenLayers } from './flatten.js';
import { snapshotUpper } from './snapshot.js';

export class ContainerSnapshots implements DriverSnapshots {
  readonly #runtime: () => Promise<{ name: RuntimeName; path: string } | null>;
  #criu: Promise<CapabilityProbe> | undefined;

  /** `runtime`: the OCI runtime the driver chose (for its checkpoint support). */
  constructor(runtime: () => Promise<{ name: RuntimeName; path: string } | null>) {
    this.#runtime = runtime;
  }

  snapshotUpper(handles: DriverHandles, destDir: string, opts?: SnapshotUpperOptions): Promise<UpperSnapshot> {
    return snapshotUpper(parseContainerHandles(handles).data, destDir, opts);
  }

  upperDirOf(handles: DriverHandles): string {
    return overlayDirs(parseContainerHandles(handles).data.stateDir).upper;
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
