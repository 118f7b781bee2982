import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShedError } from '../core/errors.js';
import { compressionOf } from './compression.js';
import { buildConfigDoc, buildManifestDoc, MEDIA, parseConfig, parseIndex, parseManifest } from './oci.js';

const D = 'sha256:' + 'a'.repeat(64);
const j = (v: unknown) => Buffer.from(JSON.stringify(v));
const invalid = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof ShedError && e.code === 'invalid_argument' && re.test(e.message));

describe('OCI documents', () => {
  it('reads a manifest and refuses bad digests, sizes and versions', () => {
    const good = { schemaVersion: 2, config: { mediaType: MEDIA.ociConfig, digest: D, size: 2 }, layers: [{ mediaType: MEDIA.ociLayerGzip, digest: D, size: 3, extra: true }] };
    assert.equal(parseManifest(j(good), 'm').layers[0]?.size, 3);
    invalid(() => parseManifest(j({ ...good, schemaVersion: 1 }), 'm'), /schemaVersion/);
    invalid(() => parseManifest(j({ ...good, config: { ...good.config, digest: 'md5:x' } }), 'm'), /not sha256/);
    invalid(() => parseManifest(j({ ...good, config: { ...good.config, size: -1 } }), 'm'), /non-negative integer/);
    invalid(() => parseManifest(j({ ...good, mediaType: MEDIA.ociIndex }), 'm'), /not an image manifest/);
    invalid(() => parseManifest(Buffer.from('{'), 'm'), /not valid JSON/);
    invalid(() => parseIndex(j({ schemaVersion: 2, manifests: {} }), 'i'), /JSON array/);
  });

  it('reads the runtime config with defaults', () => {
    const p = parseConfig(j({ rootfs: { type: 'layers', diff_ids: [D] }, config: { Env: null, WorkingDir: '' } }), 'c');
    assert.deepEqual(p, { config: { env: [], workingDir: '/' }, diffIds: [D] });
    invalid(() => parseConfig(j({ rootfs: { diff_ids: [1] } }), 'c'), /array of strings/);
  });

  it('builds config and manifest documents deterministically', () => {
    const c1 = buildConfigDoc({ env: ['A=1'], workingDir: '/' }, [D]);
    assert.ok(c1.equals(buildConfigDoc({ env: ['A=1'], workingDir: '/' }, [D])));
    assert.ok(!c1.toString().includes('created'), 'no timestamps');
    const m = JSON.parse(buildManifestDoc({ mediaType: MEDIA.ociConfig, digest: D, size: 1 }, []).toString());
    assert.equal(m.mediaType, MEDIA.ociManifest);
  });
});

describe('compressionOf', () => {
  it('detects gzip and zstd by magic, refuses xz and bzip2 with a hint', () => {
    assert.equal(compressionOf(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
    assert.equal(compressionOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
    assert.equal(compressionOf(Buffer.from('ustar\0')), 'none');
    invalid(() => compressionOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), /xz/);
    invalid(() => compressionOf(Buffer.from('BZh91A')), /bzip2/);
  });
});
