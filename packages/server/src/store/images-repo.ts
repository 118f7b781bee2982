import { Type } from '@sinclair/typebox';
import { ShedError } from '../core/errors.js';
import { isImageDigest, type ImageDigest } from '../core/ids.js';
import type { BlobRecord, ImageRecord, ImageRepo, NewImage } from '../core/image-repo.js';
import type { ImageSource } from '../core/images.js';
import type { Db } from './db.js';
import { statementCache } from './statements.js';
import { parseJsonColumn } from './json-column.js';

/** images.config: a core/images.ts ImageConfig, closed like every JSON column (row-schemas.ts). */
const ConfigColumn = Type.Object(
  { env: Type.Array(Type.String()), workingDir: Type.String(), user: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

const SOURCES: readonly ImageSource[] = ['pull', 'oci-layout', 'docker-archive', 'rootfs-tar', 'dir', 'builtin', 'commit'];

const UPSERT_NAME =
  'INSERT INTO image_names (name, image_digest) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET image_digest = excluded.image_digest';

interface ImageRow {
  digest: string;
  config: string;
  source: string;
  disk_bytes: number;
  created_at: number;
  last_used_at: number;
}

interface BlobRow {
  digest: string;
  media_type: string;
  size_bytes: number;
  created_at: number;
}

/** SQLite persistence of images, their layers and names, and blobs (schema v1). */
export class SqliteImageRepo implements ImageRepo {
  private readonly sql: Db['prepare'];

  constructor(private readonly db: Db) {
    this.sql = statementCache(db);
  }

  putImage(image: NewImage, blobs: readonly BlobRecord[], names: readonly string[]): void {
    const insertBlob = this.sql(
      'INSERT OR IGNORE INTO blobs (digest, media_type, size_bytes, created_at) VALUES (?, ?, ?, ?)',
    );
    const insertImage = this.sql(
      `INSERT OR IGNORE INTO images (digest, config, source, disk_bytes, created_at, last_used_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const insertLayer = this.sql(
      'INSERT OR IGNORE INTO image_layers (image_digest, position, blob_digest) VALUES (?, ?, ?)',
    );
    const upsertName = this.sql(UPSERT_NAME);
    this.db.transaction(() => {
      for (const b of blobs) insertBlob.run(b.digest, b.mediaType, b.sizeBytes, b.createdAt);
      insertImage.run(image.digest, JSON.stringify(image.config), image.source, image.diskBytes, image.createdAt, image.createdAt);
      image.layers.forEach((layer, i) => insertLayer.run(image.digest, i, layer));
      for (const n of names) upsertName.run(n, image.digest);
    })();
  }

  addNames(digest: ImageDigest, names: readonly string[]): void {
    const upsert = this.sql(UPSERT_NAME);
    this.db.transaction(() => {
      for (const n of names) upsert.run(n, digest);
    })();
  }

  getImage(digest: ImageDigest): ImageRecord | undefined {
    // Row cast: the columns are declared in migration 1 with these types (STRICT table).
    const row = this.sql('SELECT * FROM images WHERE digest = ?').get(digest) as ImageRow | undefined;
    return row && this.toRecord(row);
  }

  lookupName(name: string): ImageDigest | undefined {
    // Row cast: image_names.image_digest is TEXT NOT NULL.
    const row = this.sql('SELECT image_digest FROM image_names WHERE name = ?').get(name) as
      | { image_digest: string }
      | undefined;
    return row ? parseDigest(row.image_digest) : undefined;
  }

  listImages(): ImageRecord[] {
    // Row cast: see getImage.
    const rows = this.sql('SELECT * FROM images ORDER BY created_at, digest').all() as ImageRow[];
    return rows.map((r) => this.toRecord(r));
  }

  listBlobs(): BlobRecord[] {
    // Row cast: the blobs table is STRICT with these column types.
    const rows = this.sql('SELECT * FROM blobs ORDER BY digest').all() as BlobRow[];
    return rows.map((r) => ({ digest: r.digest, mediaType: r.media_type, sizeBytes: r.size_bytes, createdAt: r.created_at }));
  }

  touch(digest: ImageDigest, at: number): void {
    this.sql('UPDATE images SET last_used_at = ? WHERE digest = ?').run(at, digest);
  }

  setDiskBytes(digest: ImageDigest, bytes: number): void {
    this.sql('UPDATE images SET disk_bytes = ? WHERE digest = ?').run(bytes, digest);
  }

  removeName(name: string): boolean {
    return this.sql('DELETE FROM image_names WHERE name = ?').run(name).changes > 0;
  }

  removeImage(digest: ImageDigest): void {
    try {
      this.sql('DELETE FROM images WHERE digest = ?').run(digest);
    } catch (err) {
      // sandboxes.image_digest references images(digest) without ON DELETE: SQLite refuses.
      if (err instanceof Error && 'code' in err && err.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new ShedError('failed_precondition', `image ${digest} is used by a sandbox; delete the sandbox first`, {
          cause: err,
          details: { image: digest },
        });
      }
      throw err;
    }
  }

  removeBlobs(digests: readonly string[]): string[] {
    const referenced = this.sql('SELECT 1 FROM image_layers WHERE blob_digest = ? LIMIT 1');
    const del = this.sql('DELETE FROM blobs WHERE digest = ?');
    const removed: string[] = [];
    this.db.transaction(() => {
      for (const d of digests) {
        if (referenced.get(d) !== undefined) continue;
        if (del.run(d).changes > 0) removed.push(d);
      }
    })();
    return removed;
  }

  private toRecord(row: ImageRow): ImageRecord {
    const digest = parseDigest(row.digest);
    // Row casts: image_layers and image_names columns are TEXT NOT NULL.
    const layers = this.db
      .prepare('SELECT blob_digest FROM image_layers WHERE image_digest = ? ORDER BY position')
      .all(digest) as { blob_digest: string }[];
    const names = this.sql('SELECT name FROM image_names WHERE image_digest = ? ORDER BY name').all(digest) as {
      name: string;
    }[];
    return {
      digest,
      config: parseJsonColumn(ConfigColumn, row.config, `config of image ${digest}`),
      source: parseSource(row.source, digest),
      diskBytes: row.disk_bytes,
      createdAt: row.created_at,
      lastUsedAt: row.last_used_at,
      layers: layers.map((l) => l.blob_digest),
      names: names.map((n) => n.name),
    };
  }
}

function corrupt(what: string, digest: string): ShedError {
  return new ShedError('internal', `the database row of image ${digest} has an invalid ${what}; remove the image and import it again`);
}

function parseDigest(value: string): ImageDigest {
  if (!isImageDigest(value)) throw corrupt('digest', value);
  return value;
}

function parseSource(value: string, digest: string): ImageSource {
  const found = SOURCES.find((s) => s === value);
  if (found === undefined) throw corrupt('source', digest);
  return found;
}
