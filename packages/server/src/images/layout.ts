import { invalidArgument } from '../core/errors.js';
import type { ImportOptions } from '../core/images.js';
import { digestHex } from './digest.js';
import { asArray, asObject, parseJson, str, strArray } from './json-read.js';
import {
  hostPlatform,
  isIndexType,
  isManifestType,
  parseConfig,
  parseIndex,
  parseManifest,
  REF_NAME,
  type Descriptor,
} from './oci.js';
import type { Candidate, StagedDoc } from './candidate.js';
import type { ArchiveSource } from './sources.js';

/** containerd and docker record the full image name here; ref.name is often only a tag. */
const FULL_NAME = 'io.containerd.image.name';

const blobPath = (digest: string): string => `blobs/sha256/${digestHex(digest)}`;

/** Reads an OCI image layout: oci-layout, index.json, then one image's manifest, config and layers. */
export async function readOciLayout(src: ArchiveSource, opts: Pick<ImportOptions, 'tag'>): Promise<Omit<Candidate, 'source'>> {
  const marker = await src.read('oci-layout');
  if (marker === undefined) throw invalidArgument("not an OCI image layout: the 'oci-layout' file is missing");
  const layoutVersion = str(asObject(parseJson(marker, 'oci-layout'), 'oci-layout'), 'imageLayoutVersion', 'oci-layout');
  if (layoutVersion !== '1.0.0') throw invalidArgument(`OCI layout version ${layoutVersion} is not supported (1.0.0 is)`);
  const indexBytes = await src.read('index.json');
  if (indexBytes === undefined) throw invalidArgument("not an OCI image layout: 'index.json' is missing");
  const top = pickTagged(parseIndex(indexBytes, 'index.json'), opts.tag);
  const manifestDesc = await descendToManifest(src, top);
  const manifest = await stageDoc(src, manifestDesc);
  const parsed = parseManifest(manifest.bytes, `manifest ${manifestDesc.digest}`);
  return { names: namesOf(top), ...(await stageImage(src, { blob: manifest.blob, mediaType: manifest.mediaType }, parsed.config, parsed.layers)) };
}

async function stageImage(src: ArchiveSource, manifest: StagedDoc, configDesc: Descriptor, layerDescs: readonly Descriptor[]) {
  const staged = await stageDoc(src, configDesc);
  const config = { blob: staged.blob, mediaType: staged.mediaType, parsed: parseConfig(staged.bytes, `config ${configDesc.digest}`) };
  const layers: StagedDoc[] = [];
  for (const l of layerDescs) layers.push(await stageLayer(src, l));
  if (config.parsed.diffIds.length !== layers.length) {
    throw invalidArgument(`the image config lists ${config.parsed.diffIds.length} layers but the manifest has ${layers.length}`);
  }
  return { manifest, config, layers };
}

function pickTagged(manifests: readonly Descriptor[], tag: string | undefined): Descriptor {
  if (tag !== undefined) {
    const found = manifests.find((m) => m.annotations?.[REF_NAME] === tag || m.annotations?.[FULL_NAME] === tag);
    if (!found) throw invalidArgument(`the OCI layout has no image tagged '${tag}'`);
    return found;
  }
  const [only, ...rest] = manifests;
  if (only === undefined) throw invalidArgument('the OCI layout holds no image (index.json lists no manifests)');
  if (rest.length > 0) {
    const tags = manifests.map((m) => m.annotations?.[REF_NAME]).filter((t) => t !== undefined);
    throw invalidArgument(`the OCI layout holds ${manifests.length} images; pick one with a tag (${tags.join(', ') || 'none are tagged'})`);
  }
  return only;
}

/** Follows image indexes (multi-platform images) down to the manifest for this host. */
async function descendToManifest(src: ArchiveSource, desc: Descriptor): Promise<Descriptor> {
  let d = desc;
  for (let depth = 0; depth < 4; depth++) {
    if (isManifestType(d.mediaType)) return d;
    if (!isIndexType(d.mediaType)) throw invalidArgument(`descriptor ${d.digest} has media type '${d.mediaType}', not an image manifest or index`);
    const want = hostPlatform();
    const entries = parseIndex((await stageDoc(src, d)).bytes, `index ${d.digest}`);
    const match = entries.find((e) => e.platform?.os === want.os && e.platform.architecture === want.architecture);
    if (!match) throw invalidArgument(`the image has no variant for ${want.os}/${want.architecture}`);
    d = match;
  }
  throw invalidArgument('the image indexes nest more than 4 deep');
}

function namesOf(desc: Descriptor): string[] {
  const full = desc.annotations?.[FULL_NAME];
  return full ? [full] : [];
}

function checkSize(d: Descriptor, size: number): void {
  if (size !== d.size) throw invalidArgument(`blob ${d.digest} is ${size} bytes, but its descriptor says ${d.size}`);
}

async function stageDoc(src: ArchiveSource, d: Descriptor): Promise<StagedDoc & { bytes: Buffer }> {
  const { blob, bytes } = await src.doc(blobPath(d.digest), d.digest);
  checkSize(d, blob.sizeBytes);
  return { blob, mediaType: d.mediaType, bytes };
}

async function stageLayer(src: ArchiveSource, d: Descriptor): Promise<StagedDoc> {
  const blob = await src.blob(blobPath(d.digest), d.digest);
  checkSize(d, blob.sizeBytes);
  return { blob, mediaType: d.mediaType };
}

/**
 * Reads a docker-archive (`docker save`, `podman save`): manifest.json names each image's
 * config file, tags and layer tars. Its layers become blobs by their own digest, and the
 * caller builds an OCI manifest for them.
 */
export async function readDockerArchive(src: ArchiveSource, opts: Pick<ImportOptions, 'tag'>): Promise<Omit<Candidate, 'source' | 'manifest'>> {
  const bytes = await src.read('manifest.json');
  if (bytes === undefined) throw invalidArgument("not a docker archive: 'manifest.json' is missing");
  const entries = asArray(parseJson(bytes, 'manifest.json'), 'manifest.json').map((e, i) => {
    const o = asObject(e, `manifest.json[${i}]`);
    const tags = o['RepoTags'] === undefined || o['RepoTags'] === null ? [] : strArray(o['RepoTags'], `manifest.json[${i}].RepoTags`);
    return { config: str(o, 'Config', `manifest.json[${i}]`), tags, layers: strArray(o['Layers'], `manifest.json[${i}].Layers`) };
  });
  const entry = opts.tag === undefined ? entries[0] : entries.find((e) => e.tags.includes(opts.tag ?? ''));
  if (entry === undefined) throw invalidArgument(opts.tag ? `the archive has no image tagged '${opts.tag}'` : 'the archive holds no image');
  if (opts.tag === undefined && entries.length > 1) {
    throw invalidArgument(`the archive holds ${entries.length} images; pick one with a tag (${entries.flatMap((e) => e.tags).join(', ')})`);
  }
  const { blob: configBlob, bytes: configBytes } = await src.doc(entry.config);
  const parsed = parseConfig(configBytes, `config '${entry.config}'`);
  if (parsed.diffIds.length !== entry.layers.length) {
    throw invalidArgument(`the image config lists ${parsed.diffIds.length} layers but manifest.json has ${entry.layers.length}`);
  }
  const layers: StagedDoc[] = [];
  // Media types are filled in by the caller once it has sniffed each layer's compression.
  for (const l of entry.layers) layers.push({ blob: await src.blob(l), mediaType: '' });
  return { names: entry.tags, config: { blob: configBlob, mediaType: 'application/vnd.oci.image.config.v1+json', parsed }, layers };
}
