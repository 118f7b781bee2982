// A read-only merged view of a chain of layers: the kernel's overlayfs applies whiteouts and
// opaque directories, so flatten and diff read one tree instead of re-implementing overlay
// lookup. A lowerdir-only overlay mount is read-only by construction (no upper).
import { mkdtemp, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../../../core/errors.js';
import { checkOverlayPaths, unmount } from '../overlay.js';
import { runCommand } from '../command.js';

/**
 * Runs `fn` with the merged view of `layers` (topmost first), mounted under a temporary
 * directory in `scratchDir` and unmounted afterwards whatever happens. One layer is its own view.
 */
export async function withMergedView<T>(layers: readonly string[], scratchDir: string, fn: (root: string) => Promise<T>): Promise<T> {
  if (layers.length === 0) throw invalidArgument('a merged view needs at least one layer');
  const [only] = layers;
  if (layers.length === 1 && only !== undefined) return fn(only);
  checkOverlayPaths(layers);
  const target = await mkdtemp(join(scratchDir, '.view-'));
  try {
    await runCommand('mount', ['-n', '-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${layers.join(':')}`, target]);
    try {
      return await fn(target);
    } finally {
      await unmount(target);
    }
  } finally {
    await rmdir(target);
  }
}
