import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, opendir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { HashingStream } from './digest.js';

type Header = Parameters<ReturnType<typeof pack>['entry']>[0];

export interface TarEntry {
  readonly header: Header;
  /** File contents: bytes, or a file to stream. */
  readonly body?: Buffer | { readonly file: string };
}

/** Writes entries, in the order given, as a tar file; returns its digest and size. */
export async function writeTar(entries: AsyncIterable<TarEntry> | Iterable<TarEntry>, out: string): Promise<{ digest: string; sizeBytes: number }> {
  const p = pack();
  const hasher = new HashingStream();
  const written = pipeline(p, hasher, createWriteStream(out, { mode: 0o600 }));
  written.catch(() => {}); // Awaited below.
  try {
    for await (const e of entries) {
      if (e.body === undefined) p.entry(e.header);
      else if (Buffer.isBuffer(e.body)) p.entry({ ...e.header, size: e.body.length }, e.body);
      else await pipeline(createReadStream(e.body.file), p.entry(e.header));
    }
    p.finalize();
    await written;
  } catch (err) {
    p.destroy();
    throw err;
  }
  return { digest: hasher.digest(), sizeBytes: hasher.bytes };
}

export interface PackDirStats {
  /** Device nodes, FIFOs and sockets left out (a sandbox's /dev comes from the runtime). */
  skipped: number;
}

/**
 * The entries of a directory tree, sorted by name at every level so the same tree always
 * gives the same tar: numeric ids, permission bits, mtimes in whole seconds, hardlinks as
 * links to their first path, symlinks not followed.
 */
export async function* dirEntries(root: string, stats: PackDirStats): AsyncGenerator<TarEntry> {
  const firstPath = new Map<string, string>();
  async function* walk(rel: string): AsyncGenerator<TarEntry> {
    const names: string[] = [];
    for await (const ent of await opendir(rel === '' ? root : join(root, rel))) names.push(ent.name);
    names.sort();
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(join(root, path));
      const header = { name: path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000) };
      if (st.isDirectory()) {
        yield { header: { ...header, type: 'directory' } };
        yield* walk(path);
      } else if (st.isSymbolicLink()) {
        yield { header: { ...header, type: 'symlink', linkname: await readlink(join(root, path)) } };
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? firstPath.get(key) : undefined;
        if (first !== undefined) {
          yield { header: { ...header, type: 'link', linkname: first } };
        } else {
          if (st.nlink > 1) firstPath.set(key, path);
          yield { header: { ...header, type: 'file', size: st.size }, body: { file: join(root, path) } };
        }
      } else {
        stats.skipped++;
      }
    }
  }
  yield* walk('');
}
