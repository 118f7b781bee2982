import { invalidArgument } from '../core/errors.js';
import type { ImageConfig } from '../core/images.js';
import { isDigest } from './digest.js';
import { asArray, asObject, int, optStr, optStrMap, parseJson, str, strArray, type JsonObject } from './json-read.js';

/** Media types shed reads (OCI, and Docker's v2 schema 2 which skopeo and registries still serve). */
export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const MANIFEST_TYPES: readonly string[] = [MEDIA.ociManifest, MEDIA.dockerManifest];
const INDEX_TYPES: readonly string[] = [MEDIA.ociIndex, MEDIA.dockerList];

export interface Platform {
  readonly architecture: string;
  readonly os: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
}

export interface Manifest {
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export const REF_NAME = 'org.opencontainers.image.ref.name';

export function isManifestType(mediaType: string): boolean {
  return MANIFEST_TYPES.includes(mediaType);
}

export function isIndexType(mediaType: string): boolean {
  return INDEX_TYPES.includes(mediaType);
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  const o = asObject(v, what);
  const digest = str(o, 'digest', what);
  if (!isDigest(digest)) throw invalidArgument(`${what}: digest '${digest}' is not sha256:<64 hex>`);
  const annotations = optStrMap(o, 'annotations', what);
  const p = o['platform'];
  const platform = p === undefined ? undefined : parsePlatform(asObject(p, `${what}.platform`), what);
  return {
    mediaType: str(o, 'mediaType', what),
    digest,
    size: int(o, 'size', what),
    ...(annotations ? { annotations } : {}),
    ...(platform ? { platform } : {}),
  };
}

function parsePlatform(o: JsonObject, what: string): Platform {
  return { architecture: str(o, 'architecture', `${what}.platform`), os: str(o, 'os', `${what}.platform`) };
}

function checkSchemaVersion(o: JsonObject, what: string): void {
  if (o['schemaVersion'] !== 2) throw invalidArgument(`${what}: schemaVersion must be 2`);
}

export function parseIndex(bytes: Buffer, what: string): Descriptor[] {
  const o = asObject(parseJson(bytes, what), what);
  checkSchemaVersion(o, what);
  return asArray(o['manifests'], `${what}.manifests`).map((m, i) => parseDescriptor(m, `${what}.manifests[${i}]`));
}

export function parseManifest(bytes: Buffer, what: string): Manifest {
  const o = asObject(parseJson(bytes, what), what);
  checkSchemaVersion(o, what);
  const mt = optStr(o, 'mediaType', what);
  if (mt !== undefined && !isManifestType(mt)) throw invalidArgument(`${what}: media type '${mt}' is not an image manifest`);
  return {
    config: parseDescriptor(o['config'], `${what}.config`),
    layers: asArray(o['layers'], `${what}.layers`).map((l, i) => parseDescriptor(l, `${what}.layers[${i}]`)),
  };
}

/** What shed keeps of an image config document: its runtime config and diff ids. */
export interface ParsedConfig {
  readonly config: ImageConfig;
  readonly diffIds: readonly string[];
}

export function parseConfig(bytes: Buffer, what: string): ParsedConfig {
  const o = asObject(parseJson(bytes, what), what);
  const rootfs = asObject(o['rootfs'], `${what}.rootfs`);
  const diffIds = strArray(rootfs['diff_ids'], `${what}.rootfs.diff_ids`);
  const c = o['config'] === undefined || o['config'] === null ? {} : asObject(o['config'], `${what}.config`);
  const env = c['Env'] === undefined || c['Env'] === null ? [] : strArray(c['Env'], `${what}.config.Env`);
  const workingDir = optStr(c, 'WorkingDir', `${what}.config`) || '/';
  const user = optStr(c, 'User', `${what}.config`);
  return { config: { env, workingDir, ...(user ? { user } : {}) }, diffIds };
}

/** The platform shed runs images for: this host's. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { architecture: arch[process.arch] ?? process.arch, os: 'linux' };
}

/** Layer media type for a compression, as shed writes them in synthesized manifests. */
export function layerMediaType(compression: 'gzip' | 'zstd' | 'none'): string {
  return compression === 'gzip' ? MEDIA.ociLayerGzip : compression === 'zstd' ? MEDIA.ociLayerZstd : MEDIA.ociLayer;
}

/**
 * A config document for an image shed assembles itself. Deliberately without `created` or
 * history timestamps: the same layers give the same config bytes, hence the same digest.
 */
export function buildConfigDoc(config: ImageConfig, diffIds: readonly string[]): Buffer {
  const platform = hostPlatform();
  const doc = {
    architecture: platform.architecture,
    os: platform.os,
    config: { Env: config.env, WorkingDir: config.workingDir, ...(config.user ? { User: config.user } : {}) },
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  return Buffer.from(JSON.stringify(doc));
}

export function buildManifestDoc(config: Descriptor, layers: readonly Descriptor[]): Buffer {
  const desc = (d: Descriptor) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size });
  const doc = { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: desc(config), layers: layers.map(desc) };
  return Buffer.from(JSON.stringify(doc));
}
