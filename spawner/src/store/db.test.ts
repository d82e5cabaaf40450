import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getOrCreateSpawnerId, migrate, openDatabase, userVersion } from './db.js';
import { MIGRATIONS } from './migrations.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spawner-db-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('openDatabase', () => {
  it('creates the parent directory and sets the pragmas', () => {
    const db = openDatabase(join(dir, 'nested', 'deeper', 'spawner.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
    db.close();
  });

  it('runs every migration once and is idempotent on reopen', () => {
    const path = join(dir, 'spawner.db');
    const first = openDatabase(path);
    expect(userVersion(first)).toBe(MIGRATIONS.length);
    expect(migrate(first)).toBe(0);
    first.close();
    const again = openDatabase(path);
    expect(userVersion(again)).toBe(MIGRATIONS.length);
    const tables = again
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();
    expect(tables).toEqual(expect.arrayContaining(['events', 'instances', 'meta', 'tokens']));
    again.close();
  });

  it('applies only new steps, and rolls back a failing step entirely', () => {
    const db = openDatabase(':memory:');
    const extra = [
      ...MIGRATIONS,
      { name: 'add t', sql: 'CREATE TABLE t (x INTEGER) STRICT;' },
      { name: 'broken', sql: 'CREATE TABLE u (x INTEGER); SELECT nope FROM nowhere;' },
    ];
    expect(() => migrate(db, extra)).toThrow(new RegExp(`migration ${MIGRATIONS.length + 2} \\(broken\\) failed`));
    expect(userVersion(db)).toBe(MIGRATIONS.length + 1);
    const hasU = db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'u'").pluck().get();
    expect(hasU).toBe(0);
    db.close();
  });

  it('refuses a database written by a newer release', () => {
    const path = join(dir, 'spawner.db');
    const db = openDatabase(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
    db.close();
    expect(() => openDatabase(path)).toThrow(/newer than this spawner/);
  });
});

describe('getOrCreateSpawnerId', () => {
  it('is a 16-byte hex id, stable across reopen', () => {
    const path = join(dir, 'spawner.db');
    const db = openDatabase(path);
    const id = getOrCreateSpawnerId(db);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(getOrCreateSpawnerId(db)).toBe(id);
    db.close();
    const reopened = openDatabase(path);
    expect(getOrCreateSpawnerId(reopened)).toBe(id);
    reopened.close();
  });

  it('a configured id wins without replacing the stored one', () => {
    const db = openDatabase(':memory:');
    const stored = getOrCreateSpawnerId(db);
    expect(getOrCreateSpawnerId(db, 'prod-1')).toBe('prod-1');
    expect(getOrCreateSpawnerId(db, '  ')).toBe(stored);
    expect(getOrCreateSpawnerId(db)).toBe(stored);
    db.close();
  });

  it('differs between installations', () => {
    const a = openDatabase(':memory:');
    const b = openDatabase(':memory:');
    expect(getOrCreateSpawnerId(a)).not.toBe(getOrCreateSpawnerId(b));
    a.close();
    b.close();
  });
});
