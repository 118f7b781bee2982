// Builds tar archives in memory for tests: real layers, and hostile ones no tool would make.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

type Header = Parameters<ReturnType<typeof pack>['entry']>[0];

export interface TarSpec {
  readonly header: Header;
  readonly body?: string | Buffer;
}

export const T0 = new Date('2023-05-06T07:08:09Z');

/** Shorthands for the common entry kinds (root-owned, fixed mtime unless given). */
export const file = (name: string, body: string | Buffer, h: Partial<Header> = {}): TarSpec => ({
  header: { name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: T0, ...h },
  body,
});
export const dir = (name: string, h: Partial<Header> = {}): TarSpec => ({ header: { name, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: T0, ...h } });
export const symlink = (name: string, target: string, h: Partial<Header> = {}): TarSpec => ({
  header: { name, type: 'symlink', linkname: target, mode: 0o777, uid: 0, gid: 0, mtime: T0, ...h },
});
export const hardlink = (name: string, target: string): TarSpec => ({ header: { name, type: 'link', linkname: target, mode: 0o644, mtime: T0 } });

export async function makeTar(entries: readonly TarSpec[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    // tar-stream yields Uint8Array chunks.
    for await (const c of p) chunks.push(Buffer.from(c as Uint8Array));
  })();
  for (const e of entries) {
    if (e.body === undefined) p.entry(e.header);
    else p.entry(e.header, Buffer.from(e.body));
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const gzip = (b: Buffer): Buffer => gzipSync(b);

/** zstd through Debian's CLI, as shed reads it. */
export function zstd(b: Buffer): Buffer {
  const r = spawnSync('zstd', ['-q', '-c', '-3'], { input: b, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr.toString()}`);
  return r.stdout;
}

export function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}
