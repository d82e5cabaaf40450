/**
 * Schema history. Append new steps at the end; never edit a step that has shipped, because
 * `PRAGMA user_version` records how many steps a database file has already run.
 *
 * Times are integer milliseconds since the epoch. Tables are STRICT so a wrong type fails loudly
 * instead of being silently coerced.
 */
export interface Migration {
  /** Human-readable, shown in the error if a step fails. */
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    name: 'initial schema',
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE instances (
        name             TEXT PRIMARY KEY,
        -- UNIQUE: one container backs at most one instance (NULLs are allowed many times).
        container_id     TEXT UNIQUE,
        image            TEXT NOT NULL,
        network          TEXT NOT NULL,
        port             INTEGER NOT NULL,
        routing          TEXT NOT NULL CHECK (routing IN ('cookie', 'host', 'path')),
        public           INTEGER NOT NULL CHECK (public IN (0, 1)),
        secret_hash      TEXT,
        health_check     TEXT,
        idle_timeout_sec INTEGER,
        labels           TEXT NOT NULL DEFAULT '{}',
        created_at       INTEGER NOT NULL,
        last_wake_at     INTEGER,
        last_activity_at INTEGER
      ) STRICT;

      -- No foreign key to instances on purpose: history must outlive the instance row.
      CREATE TABLE events (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        at       INTEGER NOT NULL,
        instance TEXT NOT NULL,
        kind     TEXT NOT NULL,
        reason   TEXT,
        detail   TEXT
      ) STRICT;
      CREATE INDEX events_by_instance ON events (instance, id);

      -- Append-only is enforced by the database, not just by the absence of an API.
      CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
      CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

      -- Only sha256(token) is stored: a leaked database file does not log anyone in.
      CREATE TABLE tokens (
        hash       TEXT PRIMARY KEY,
        username   TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX tokens_by_expiry ON tokens (expires_at);
    `,
  },
  {
    name: 'instance initialization',
    sql: `
      -- One row per instance deployed with an "init" option. What the caller sent, the generated
      -- credentials and the instance's answer are sealed (AES-256-GCM, secrets/seal.ts): a leaked
      -- database file without the key shows none of them.
      CREATE TABLE instance_init (
        instance        TEXT PRIMARY KEY REFERENCES instances (name) ON DELETE CASCADE,
        path            TEXT NOT NULL,
        mode            TEXT NOT NULL CHECK (mode IN ('once', 'every-start')),
        deadline_sec    INTEGER NOT NULL,
        request         BLOB NOT NULL,
        idempotency_key TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
        reason          TEXT,
        result          BLOB,
        attempts        INTEGER NOT NULL DEFAULT 0,
        updated_at      INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    name: 'instance identity',
    sql: `
      -- The credential an instance presents to GET /.spawner/self. Only sha256(credential) is
      -- stored (256-bit random secrets need no slow hash). A redeploy will replace the hash
      -- (rotation); revoked_at set: refused until then.
      CREATE TABLE instance_identity (
        instance   TEXT PRIMARY KEY REFERENCES instances (name) ON DELETE CASCADE,
        hash       TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;
    `,
  },
  {
    name: 'instance status',
    sql: `
      -- Requests an instance served, by status class, accumulated from Traefik's counters
      -- (instances/request-counts.ts). baselines: the value of each of its Traefik series at the
      -- last scrape (JSON object), so a spawner restart continues the count instead of losing or
      -- repeating what Traefik served meanwhile. Removed with the instance.
      CREATE TABLE instance_stats (
        instance        TEXT PRIMARY KEY REFERENCES instances (name) ON DELETE CASCADE,
        r1xx            INTEGER NOT NULL DEFAULT 0,
        r2xx            INTEGER NOT NULL DEFAULT 0,
        r3xx            INTEGER NOT NULL DEFAULT 0,
        r4xx            INTEGER NOT NULL DEFAULT 0,
        r5xx            INTEGER NOT NULL DEFAULT 0,
        rother          INTEGER NOT NULL DEFAULT 0,
        last_request_at INTEGER,
        baselines       TEXT NOT NULL DEFAULT '{}'
      ) STRICT;
      -- An instance's wakes for its status (store/wake-history.ts): without these, counting them
      -- reads every event of the instance (~100 ms at 90,000 events).
      CREATE INDEX events_wakes ON events (instance, at) WHERE kind = 'wake' AND json_extract(detail, '$.started') = 1;
      CREATE INDEX events_failed_wakes ON events (instance, at) WHERE kind = 'wake_failed';
    `,
  },
  {
    name: 'instance volumes',
    sql: `
      -- An instance's managed data volume. The volume itself lives on the engine (labelled with
      -- the instance's name) and outlives this row on purpose: DELETE without purge keeps it,
      -- retained, with no row. status: 'missing' once a rescan found it gone behind our back.
      -- created: 1 when the instance's deploy made the volume, 0 when it mounted a retained one
      -- (written before the engine call, so a crash mid deploy knows whether it may remove it).
      CREATE TABLE instance_volume (
        instance   TEXT PRIMARY KEY REFERENCES instances (name) ON DELETE CASCADE,
        name       TEXT NOT NULL UNIQUE,
        path       TEXT NOT NULL,
        status     TEXT NOT NULL CHECK (status IN ('attached', 'missing')),
        created    INTEGER NOT NULL CHECK (created IN (0, 1)),
        created_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    name: 'instance revisions',
    sql: `
      -- Every deploy and redeploy of an instance: what it ran (immutable) and how it went
      -- (status). The env may hold tenant secrets: sealed (secrets/seal.ts) when a key is set.
      CREATE TABLE instance_revisions (
        instance     TEXT NOT NULL REFERENCES instances (name) ON DELETE CASCADE,
        n            INTEGER NOT NULL CHECK (n >= 1),
        image        TEXT NOT NULL,
        image_id     TEXT,
        -- The DeploySpec without name, env and init, as JSON (port, labels, limits, volume, ...).
        spec         TEXT NOT NULL,
        env          BLOB NOT NULL,
        env_sealed   INTEGER NOT NULL CHECK (env_sealed IN (0, 1)),
        created_by   TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('pending', 'active', 'superseded', 'failed')),
        failed_step  TEXT,
        reason       TEXT,
        container_id TEXT,
        PRIMARY KEY (instance, n)
      ) STRICT;
      -- What a revision ran never changes; only its outcome (status, step, reason, container).
      CREATE TRIGGER instance_revisions_immutable
        BEFORE UPDATE OF instance, n, image, spec, env, env_sealed, created_by, created_at ON instance_revisions
        BEGIN SELECT RAISE(ABORT, 'a revision is immutable'); END;
      -- At most one active revision per instance.
      CREATE UNIQUE INDEX instance_revisions_one_active ON instance_revisions (instance) WHERE status = 'active';
    `,
  },
  {
    name: 'rollouts',
    sql: `
      -- A fleet rollout and its per-instance progress (rollouts/runner.ts). No foreign key to
      -- instances: a deleted instance's line stays as history (status skipped).
      CREATE TABLE rollouts (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        spec       TEXT NOT NULL,
        status     TEXT NOT NULL CHECK (status IN ('pulling', 'running', 'paused', 'done', 'aborted', 'failed')),
        reason     TEXT,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE rollout_items (
        rollout       INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
        position      INTEGER NOT NULL,
        instance      TEXT NOT NULL,
        wave          INTEGER NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('pending', 'upgrading', 'upgraded', 'deferred', 'failed', 'rolled_back', 'skipped')),
        from_revision INTEGER,
        to_revision   INTEGER,
        reason        TEXT,
        PRIMARY KEY (rollout, instance)
      ) STRICT;
    `,
  },
];
