// Flatten: a chain of layers (snapshot layers…, image rootfs) merged into one standalone layer.
// The chain is mounted read-only as an overlay and its merged view copied, so whiteouts and
// opaque directories are applied by the kernel and the result needs no layer under it. (A
// partial flatten that kept the image below would have to keep whiteouts aimed at it, which a
// merged view no longer shows: the kernel hides them.)
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ShedError } from '../../../core/errors.js';
import type { LayerWrite } from '../../../core/driver.js';
import { allocatedBytes, copyTree, syncFilesystem } from './copy-tree.js';
import { withMergedView } from './merged-view.js';

export async function flattenLayers(layers: readonly string[], destDir: string, opts: { signal?: AbortSignal } = {}): Promise<LayerWrite> {
  if (existsSync(destDir)) throw new ShedError('already_exists', `layer directory ${destDir} already exists; a layer is written once`);
  const parent = dirname(destDir);
  mkdirSync(parent, { recursive: true, mode: 0o711 });
  const method = await withMergedView(layers, parent, (root) => copyTree(root, destDir, { signal: opts.signal, dataDirs: layers }));
  await syncFilesystem(destDir, opts.signal === undefined ? {} : { signal: opts.signal });
  return { bytes: await allocatedBytes(destDir, opts.signal), method };
}
