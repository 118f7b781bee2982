import { ShedError, notFound } from '../core/errors.js';
import { isImageDigest } from '../core/ids.js';
import { isLayerId, LAYER_HOLDER_KINDS, type LayerHolderKind, type LayerId, type LayerRecord, type LayerRef, type LayerRepo, type NewLayer } from '../core/layers.js';
import type { Db } from './db.js';
import { statementCache } from './statements.js';

interface LayerRow {
  id: string;
  parent_id: string | null;
  image_digest: string;
  depth: number;
  standalone: number;
  method: string;
  disk_bytes: number;
  created_at: number;
}

const COLUMNS = 'id, parent_id, image_digest, depth, standalone, method, disk_bytes, created_at';

// Rows are checked on the way out like every other table's: the file may be older or edited.
function toRecord(r: LayerRow): LayerRecord {
  const { id, parent_id: parent, image_digest: image, method } = r;
  if (!isLayerId(id) || (parent !== null && !isLayerId(parent)) || !isImageDigest(image) || (method !== 'reflink' && method !== 'copy')) {
    throw new ShedError('internal', `layers row ${id} is malformed`, { details: { row: r } });
  }
  return { id, parent, imageDigest: image, depth: r.depth, standalone: r.standalone === 1, method, diskBytes: r.disk_bytes, createdAt: r.created_at };
}

/** SQLite persistence of snapshot layers and their holders (schema v2). */
export class SqliteLayerRepo implements LayerRepo {
  private readonly sql: Db['prepare'];

  constructor(private readonly db: Db) {
    this.sql = statementCache(db);
  }

  putLayer(layer: NewLayer): LayerRecord {
    return this.db.transaction(() => {
      const parent = layer.parent === null ? null : this.getLayer(layer.parent);
      if (parent === undefined) throw notFound('layer', String(layer.parent));
      const depth = (parent?.depth ?? 0) + 1;
      this.sql(`INSERT INTO layers (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(
        layer.id, layer.parent, layer.imageDigest, depth, layer.standalone ? 1 : 0, layer.method, layer.diskBytes, layer.createdAt,
      );
      return { ...layer, depth };
    })();
  }

  getLayer(id: LayerId): LayerRecord | undefined {
    const row = this.sql<[string], LayerRow>(`SELECT ${COLUMNS} FROM layers WHERE id = ?`).get(id);
    return row === undefined ? undefined : toRecord(row);
  }

  chain(id: LayerId): LayerRecord[] {
    // Depth bounds the walk, so a corrupt parent cycle cannot loop.
    const rows = this.sql<[string], LayerRow>(
      `WITH RECURSIVE c(${COLUMNS}, n) AS (
         SELECT ${COLUMNS}, 0 FROM layers WHERE id = ?
         UNION ALL
         SELECT l.id, l.parent_id, l.image_digest, l.depth, l.standalone, l.method, l.disk_bytes, l.created_at, c.n + 1
         FROM layers l JOIN c ON l.id = c.parent_id WHERE c.n < 1000
       ) SELECT ${COLUMNS} FROM c ORDER BY n`,
    ).all(id);
    if (rows.length === 0) throw notFound('layer', id);
    return rows.map(toRecord);
  }

  addRef(ref: LayerRef): void {
    checkKind(ref);
    if (this.getLayer(ref.layer) === undefined) throw notFound('layer', ref.layer);
    this.sql('INSERT OR IGNORE INTO layer_refs (layer_id, holder_kind, holder_id) VALUES (?, ?, ?)').run(ref.layer, ref.kind, ref.holder);
  }

  removeRef(ref: LayerRef): boolean {
    const r = this.sql('DELETE FROM layer_refs WHERE layer_id = ? AND holder_kind = ? AND holder_id = ?').run(ref.layer, ref.kind, ref.holder);
    return r.changes > 0;
  }

  refCount(id: LayerId): number {
    const row = this.sql<[string, string], { n: number }>(
      'SELECT (SELECT COUNT(*) FROM layer_refs WHERE layer_id = ?) + (SELECT COUNT(*) FROM layers WHERE parent_id = ?) AS n',
    ).get(id, id);
    return row?.n ?? 0;
  }

  unreferenced(): LayerRecord[] {
    const rows = this.sql<[], LayerRow>(
      `SELECT ${COLUMNS} FROM layers l
       WHERE NOT EXISTS (SELECT 1 FROM layer_refs r WHERE r.layer_id = l.id)
         AND NOT EXISTS (SELECT 1 FROM layers c WHERE c.parent_id = l.id)
       ORDER BY created_at, id`,
    ).all();
    return rows.map(toRecord);
  }

  refsOf(id: LayerId): LayerRef[] {
    const rows = this.sql<[string], { holder_kind: string; holder_id: string }>(
      'SELECT holder_kind, holder_id FROM layer_refs WHERE layer_id = ? ORDER BY holder_kind, holder_id',
    ).all(id);
    return rows.map((r) => {
      const kind = LAYER_HOLDER_KINDS.find((k) => k === r.holder_kind);
      if (kind === undefined) throw new ShedError('internal', `layer_refs row of ${id} has unknown holder kind '${r.holder_kind}'`);
      return { layer: id, kind, holder: r.holder_id };
    });
  }

  heldBy(kind: LayerHolderKind): LayerRecord[] {
    const rows = this.sql<[string], LayerRow>(
      `SELECT ${COLUMNS} FROM layers l WHERE EXISTS (SELECT 1 FROM layer_refs r WHERE r.layer_id = l.id AND r.holder_kind = ?)
       ORDER BY created_at, id`,
    ).all(kind);
    return rows.map(toRecord);
  }

  removeLayer(id: LayerId): void {
    this.db.transaction(() => {
      const held = this.refCount(id);
      if (held > 0) {
        throw new ShedError('failed_precondition', `layer ${id} is still used (${held} holders or layers above it); remove those first`, { details: { layer: id } });
      }
      this.sql('DELETE FROM layers WHERE id = ?').run(id);
    })();
  }
}

function checkKind(ref: LayerRef): void {
  if (!LAYER_HOLDER_KINDS.includes(ref.kind)) throw new ShedError('invalid_argument', `unknown layer holder kind '${ref.kind}'`);
}
