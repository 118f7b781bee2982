import { randomBytes } from 'node:crypto';
import { lstat, opendir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** A unique name for a temp file or directory; `.tmp-` marks it as prunable. */
export function tempName(prefix: string): string {
  return `.tmp-${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Allocated bytes of a file tree: st_blocks × 512 for each inode once (hardlinks count once,
 * sparse files count their blocks, not their apparent size). Symlinks are not followed.
 */
export async function allocatedBytes(root: string, seen: Set<string> = new Set()): Promise<number> {
  const st = await lstat(root, { bigint: true }).catch(() => undefined);
  if (st === undefined) return 0;
  let total = 0;
  const key = `${st.dev}:${st.ino}`;
  if (!seen.has(key)) {
    seen.add(key);
    total += Number(st.blocks) * 512;
  }
  if (!st.isDirectory()) return total;
  const dir = await opendir(root).catch(() => undefined);
  if (dir === undefined) return total;
  for await (const ent of dir) total += await allocatedBytes(join(root, ent.name), seen);
  return total;
}

/**
 * Removes a tree by first renaming it into `trashDir` (same filesystem), so a crash half way
 * through never leaves a partial tree at a path that means "complete" (images/<hex>).
 */
export async function removeTree(path: string, trashDir: string): Promise<void> {
  const trash = join(trashDir, tempName('trash'));
  try {
    await rename(path, trash);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  await rm(trash, { recursive: true, force: true });
}

export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code;
}
