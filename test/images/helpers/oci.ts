// Writes OCI image layouts and docker-archive tars for tests, the way skopeo and docker do.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { makeTar, sha256, type TarSpec } from './tars.js';

export interface TestImage {
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly layerDigests: readonly string[];
}

const LAYER_TYPES: Record<string, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

function compressionOf(b: Buffer): 'gzip' | 'zstd' | 'none' {
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

function uncompressed(b: Buffer): Buffer {
  const c = compressionOf(b);
  if (c === 'gzip') return gunzipSync(b);
  if (c === 'zstd') return spawnSync('zstd', ['-d', '-q', '-c'], { input: b, maxBuffer: 1 << 30 }).stdout;
  return b;
}

export function configDoc(layers: readonly Buffer[], env = ['PATH=/usr/bin:/bin', 'APP=1'], workingDir = '/srv'): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: env, WorkingDir: workingDir, User: '1000' },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(uncompressed(l))) },
    }),
  );
}

/** Writes an OCI image layout with one image of the given (possibly compressed) layer blobs. */
export async function writeOciLayout(dirPath: string, layers: readonly Buffer[], opts: { refName?: string; fullName?: string } = {}): Promise<TestImage> {
  const blobs = join(dirPath, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (b: Buffer) => {
    const d = sha256(b);
    await writeFile(join(blobs, d.slice(7)), b);
    return d;
  };
  const config = configDoc(layers);
  const configDigest = await put(config);
  const layerDigests: string[] = [];
  for (const l of layers) layerDigests.push(await put(l));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((l, i) => ({ mediaType: LAYER_TYPES[compressionOf(l)], digest: layerDigests[i], size: l.length })),
    }),
  );
  const manifestDigest = await put(manifest);
  const annotations = {
    ...(opts.refName ? { 'org.opencontainers.image.ref.name': opts.refName } : {}),
    ...(opts.fullName ? { 'io.containerd.image.name': opts.fullName } : {}),
  };
  const index = {
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length, annotations }],
  };
  await writeFile(join(dirPath, 'index.json'), JSON.stringify(index));
  await writeFile(join(dirPath, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return { manifestDigest, configDigest, layerDigests };
}

/** Tars a directory tree with GNU tar (the way people hand shed an OCI layout tar). */
export function tarDirectory(dirPath: string, out: string): void {
  const r = spawnSync('tar', ['-C', dirPath, '-cf', out, '.']);
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr.toString()}`);
}

/**
 * A docker-archive as `docker save` (before v25) writes it: <id>/layer.tar files, <hex>.json
 * config, manifest.json with RepoTags, and a symlink for a repeated layer.
 */
export async function dockerArchive(layers: readonly Buffer[], tags: readonly string[], opts: { duplicateLastAsSymlink?: boolean } = {}): Promise<Buffer> {
  const config = configDoc(layers);
  const configName = `${sha256(config).slice(7)}.json`;
  const entries: TarSpec[] = [];
  const layerPaths: string[] = [];
  layers.forEach((l, i) => {
    const id = sha256(`layer-id-${i}`).slice(7);
    const path = `${id}/layer.tar`;
    layerPaths.push(path);
    entries.push({ header: { name: `${id}/`, type: 'directory', mode: 0o755 } });
    const dupOf = opts.duplicateLastAsSymlink && i === layers.length - 1 ? layers.findIndex((x) => x.equals(l)) : -1;
    if (dupOf >= 0 && dupOf < i) entries.push({ header: { name: path, type: 'symlink', linkname: `../${layerPaths[dupOf]}` } });
    else entries.push({ header: { name: path, type: 'file', mode: 0o644 }, body: l });
    entries.push({ header: { name: `${id}/VERSION`, type: 'file', mode: 0o644 }, body: '1.0' });
  });
  entries.push({ header: { name: configName, type: 'file', mode: 0o644 }, body: config });
  entries.push({ header: { name: 'manifest.json', type: 'file', mode: 0o644 }, body: JSON.stringify([{ Config: configName, RepoTags: tags, Layers: layerPaths }]) });
  return makeTar(entries);
}
