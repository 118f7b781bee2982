// The runtime sets up the rootfs and bind mounts as the sandbox's mapped root, an
// unprivileged uid on the host: every directory on the way to them must let "others" search.
// Synchronous: a stat per ancestor, once per directory for the life of the process.
import { chmodSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ShedError } from '../../core/errors.js';

const checked = new Set<string>();

/** Throws failed_precondition naming the first ancestor of `dir` that others cannot traverse. */
export function checkAncestorsTraversable(dir: string): void {
  for (let d = dirname(dir); !checked.has(d); d = dirname(d)) {
    // A missing directory will be made by create itself, traversable.
    const st = statSync(d, { throwIfNoEntry: false });
    if (st !== undefined && (st.mode & 0o001) === 0) {
      throw new ShedError(
        'failed_precondition',
        `${d} is not searchable by others (mode ${(st.mode & 0o777).toString(8)}): sandboxes run as an unprivileged host uid that must reach ${dir}; run 'chmod o+x ${d}'`,
        { details: { dir: d } },
      );
    }
    if (st !== undefined) checked.add(d);
    if (d === '/') break;
  }
}

/** Makes the sandbox's own directory traversable (core may have made it 0700). */
export function makeTraversableSync(dir: string): void {
  const st = statSync(dir);
  if ((st.mode & 0o001) === 0) chmodSync(dir, (st.mode & 0o7777) | 0o011);
}
