/**
 * Versioned schema migrations, applied in order inside one transaction each. Never edit a
 * migration that has shipped: add a new one. `PRAGMA user_version` records the version.
 *
 * What lives here is what a sandbox *is*. What is currently true in the kernel (pids,
 * cgroups, mounts, sockets) never does: see core/driver.ts DriverHandles.
 */
export interface Migration {
  readonly version: number;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE blobs (
        digest      TEXT PRIMARY KEY,            -- sha256:<hex>
        media_type  TEXT NOT NULL,
        size_bytes  INTEGER NOT NULL,            -- apparent size of the blob
        created_at  INTEGER NOT NULL             -- ms since epoch
      ) STRICT;

      CREATE TABLE images (
        digest        TEXT PRIMARY KEY,          -- manifest digest, sha256:<hex>
        config        TEXT NOT NULL,             -- JSON: core/images.ts ImageConfig
        source        TEXT NOT NULL,             -- how it arrived: pull, oci-layout, docker-archive, rootfs-tar, dir, builtin
        disk_bytes    INTEGER NOT NULL,          -- allocated blocks of its unpacked rootfs
        created_at    INTEGER NOT NULL,
        last_used_at  INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE image_layers (
        image_digest  TEXT NOT NULL REFERENCES images(digest) ON DELETE CASCADE,
        position      INTEGER NOT NULL,          -- 0 = bottom layer
        blob_digest   TEXT NOT NULL REFERENCES blobs(digest),
        PRIMARY KEY (image_digest, position)
      ) STRICT;

      CREATE TABLE image_names (
        name          TEXT PRIMARY KEY,          -- 'default', 'debian', '127.0.0.1:5000/app:1'
        image_digest  TEXT NOT NULL REFERENCES images(digest) ON DELETE CASCADE
      ) STRICT;

      CREATE TABLE sandboxes (
        id            TEXT PRIMARY KEY,          -- sb-<12 hex>
        name          TEXT UNIQUE,               -- unique per host when set
        image_digest  TEXT NOT NULL REFERENCES images(digest),
        driver        TEXT NOT NULL,
        spec          TEXT NOT NULL,             -- JSON: resources, env, labels, ttl, network policy
        state         TEXT NOT NULL,             -- core/state.ts SandboxState
        state_reason  TEXT,                      -- why it is in that state (e.g. 'processes vanished')
        last_error    TEXT,                      -- JSON {code, message} of the last failure
        timings       TEXT NOT NULL DEFAULT '{}',-- JSON: PhaseTimings of the last create/start
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX sandboxes_state ON sandboxes(state);

      -- Every create/delete/stop/start (later fork/snapshot) writes its intent here before
      -- acting and its outcome after, so a restart can finish or roll back what a crash cut.
      CREATE TABLE operations (
        id               TEXT PRIMARY KEY,       -- op-<16 hex>
        kind             TEXT NOT NULL,
        sandbox_id       TEXT,
        idempotency_key  TEXT UNIQUE,
        state            TEXT NOT NULL,          -- pending | done | failed | rolled_back
        request          TEXT NOT NULL,          -- JSON
        result           TEXT,                   -- JSON, when done
        error            TEXT,                   -- JSON {code, message}, when failed
        created_at       INTEGER NOT NULL,
        finished_at      INTEGER
      ) STRICT;
      CREATE INDEX operations_pending ON operations(state) WHERE state = 'pending';
    `,
  },
  {
    version: 2,
    sql: `
      -- Snapshot layers (core/layers.ts): read-only directories written once, each over the
      -- one below it (parent) and, at the bottom, the image rootfs — unless standalone (a
      -- flattened chain, a whole rootfs).
      CREATE TABLE layers (
        id            TEXT PRIMARY KEY,          -- ly-<16 hex>
        parent_id     TEXT REFERENCES layers(id),
        image_digest  TEXT NOT NULL REFERENCES images(digest),
        depth         INTEGER NOT NULL,          -- 1 + parent's depth
        standalone    INTEGER NOT NULL,          -- 1: flattened, mounted without the image
        method        TEXT NOT NULL,             -- reflink | copy
        disk_bytes    INTEGER NOT NULL,          -- allocated blocks of the layer directory
        created_at    INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX layers_parent ON layers(parent_id);

      -- Who keeps a layer: a snapshot, a sandbox running on it, a warm pool. Layers above a
      -- layer keep it too (parent_id); one with neither is garbage.
      CREATE TABLE layer_refs (
        layer_id      TEXT NOT NULL REFERENCES layers(id),
        holder_kind   TEXT NOT NULL,             -- snapshot | sandbox | pool
        holder_id     TEXT NOT NULL,
        PRIMARY KEY (layer_id, holder_kind, holder_id)
      ) STRICT;
    `,
  },
  {
    version: 3,
    sql: `
      -- Last API activity (exec, spawn, files) or start, ms since epoch: the idle timeout's
      -- clock. Durable so a restarted shedd computes the same deadline. NULL: counts from created_at.
      ALTER TABLE sandboxes ADD COLUMN last_active_at INTEGER;
    `,
  },
  {
    version: 4,
    sql: `
      -- Warm pools (core/pools/): a free member is an ordinary running sandbox whose pool
      -- column names its pool; a claim clears it and records where the sandbox came from.
      ALTER TABLE sandboxes ADD COLUMN pool TEXT;          -- free member of this pool; NULL: a user's sandbox
      ALTER TABLE sandboxes ADD COLUMN claimed_from TEXT;  -- the pool a claim took it from; NULL: created cold
      CREATE INDEX sandboxes_pool ON sandboxes(pool) WHERE pool IS NOT NULL;

      -- Pools set through the API. Pools from the config file are never stored here.
      CREATE TABLE pools (
        name        TEXT PRIMARY KEY,
        spec        TEXT NOT NULL,               -- JSON: core/pools/pool-spec.ts PoolSpec
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 5,
    sql: `
      -- IPv4 addresses of sandboxes with network 'nat', one per sandbox while it runs. No
      -- foreign key: the lease is taken in create's parallel prefix, before the sandbox row.
      CREATE TABLE net_leases (
        address     TEXT PRIMARY KEY,            -- dotted quad, inside the bridge's subnet
        sandbox_id  TEXT NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL
      ) STRICT;
    `,
  },
];
