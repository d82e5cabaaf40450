/**
 * Opening the SQLite database: pragmas, parent directory, migrations, and the installation id.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Database = BetterSqlite3.Database;

/** How long a writer waits for another connection's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;

export function openDatabase(path: string): Database {
  const inMemory = path === ':memory:' || path === '';
  if (!inMemory) mkdirSync(dirname(path), { recursive: true });
  const db = new BetterSqlite3(path);
  try {
    // WAL: readers never block the writer; NORMAL is durable across app crashes under WAL and
    // only risks the last transactions on power loss, which reconciliation with Docker repairs.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    migrate(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Runs every step the file has not seen yet, each in its own transaction. Returns steps run. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  let ran = 0;
  for (;;) {
    // IMMEDIATE takes the write lock before reading user_version, so two processes opening the
    // same file cannot both run the same step.
    const step = db.transaction((): boolean => {
      const version = userVersion(db);
      if (version > migrations.length) {
        throw new Error(
          `database schema version ${version} is newer than this spawner (${migrations.length}); ` +
            'refusing to open it with an older release',
        );
      }
      const next = migrations[version];
      if (!next) return false;
      try {
        db.exec(next.sql);
      } catch (e) {
        throw new Error(`migration ${version + 1} (${next.name}) failed: ${(e as Error).message}`);
      }
      db.pragma(`user_version = ${version + 1}`);
      return true;
    }).immediate();
    if (!step) return ran;
    ran++;
  }
}

export function userVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

const SPAWNER_ID_KEY = 'spawner_id';

/**
 * The id that marks containers as ours. A configured id wins (and is not persisted, so removing
 * it from the config falls back to the stored one); otherwise a random id is created on first
 * start and kept in `meta`, so restarts keep recognising their own containers.
 */
export function getOrCreateSpawnerId(db: Database, configured?: string): string {
  const fromConfig = configured?.trim();
  if (fromConfig) return fromConfig;
  // INSERT ... DO NOTHING then read back: race-free if two processes start at once.
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(
    SPAWNER_ID_KEY,
    randomBytes(16).toString('hex'),
  );
  const id = getMeta(db, SPAWNER_ID_KEY);
  if (id === undefined) throw new Error('spawner id missing from meta table after insert');
  return id;
}

export function getMeta(db: Database, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
    | { value: string }
    | undefined;
  return row?.value;
}

export function setMeta(db: Database, key: string, value: string): void {
  db.prepare(
    'INSERT INTO meta (key, value) VALUES (?, ?) ' +
      'ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  ).run(key, value);
}
