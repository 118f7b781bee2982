// Test helpers for layers: a host-side listing of a tree (never following a symlink), and a
// read-only overlay of a chain of layers mounted for the length of a callback.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdtemp, open, readdir, readlink, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function hashNoFollow(path: string): Promise<string> {
  const f = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const h = createHash('sha256');
    for await (const chunk of f.createReadStream({ autoClose: false })) h.update(chunk as Buffer);
    return h.digest('hex').slice(0, 16);
  } finally {
    await f.close();
  }
}

/** path → 'type mode uid:gid detail' for every entry under `root` (detail: content hash or link target). */
export async function listing(root: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(join(root, rel))).sort()) {
    const p = join(rel, name);
    const st = await lstat(join(root, p));
    const perm = (st.mode & 0o7777).toString(8);
    const who = `${st.uid}:${st.gid}`;
    if (st.isDirectory()) {
      out.set(p, `dir ${perm} ${who}`);
      for (const [k, v] of await listing(root, p)) out.set(k, v);
    } else if (st.isSymbolicLink()) out.set(p, `link ${perm} ${who} ${await readlink(join(root, p))}`);
    else if (st.isFile()) out.set(p, `file ${perm} ${who} ${st.size} ${await hashNoFollow(join(root, p))}`);
    else out.set(p, `other ${st.mode.toString(8)} ${who} ${st.rdev}`);
  }
  return out;
}

/** Runs `fn` on the merged read-only view of `layers` (topmost first). */
export async function withOverlay<T>(layers: readonly string[], scratch: string, fn: (root: string) => Promise<T>): Promise<T> {
  const target = await mkdtemp(join(scratch, 'view-'));
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${layers.join(':')}`, target]);
  try {
    return await fn(target);
  } finally {
    await run('umount', [target]);
    await rmdir(target);
  }
}
