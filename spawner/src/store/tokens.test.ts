import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from './db.js';
import { hashToken, TokenStore } from './tokens.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spawner-tokens-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_000;

describe('TokenStore', () => {
  it('issues 32-byte base64url tokens and verifies them', () => {
    const db = openDatabase(':memory:');
    const tokens = new TokenStore(db);
    const t = tokens.issue('alice', 60, T0);
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(t, 'base64url')).toHaveLength(32);
    expect(tokens.verify(t, T0 + 1)).toEqual({ username: 'alice' });
    expect(tokens.verify(t + 'x', T0)).toBeNull();
    expect(tokens.verify('', T0)).toBeNull();
    expect(tokens.verify('a'.repeat(10_000), T0)).toBeNull();
    expect(tokens.issue('alice', 60, T0)).not.toBe(t);
    db.close();
  });

  it('stores only the hash, never the raw token', () => {
    const path = join(dir, 'spawner.db');
    const db = openDatabase(path);
    const t = new TokenStore(db).issue('alice', 60, T0);
    const rows = db.prepare('SELECT * FROM tokens').all();
    expect(JSON.stringify(rows)).not.toContain(t);
    expect(rows).toEqual([{ hash: hashToken(t), username: 'alice', expires_at: T0 + 60_000 }]);
    db.close(); // checkpoints the WAL into the main file
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, f));
      expect(bytes.includes(t)).toBe(false);
      expect(bytes.includes(Buffer.from(t, 'base64url'))).toBe(false);
    }
    expect(readFileSync(path).includes(hashToken(t))).toBe(true);
  });

  it('expires with the injected clock and deletes the expired row', () => {
    const db = openDatabase(':memory:');
    const tokens = new TokenStore(db);
    const t = tokens.issue('alice', 10, T0);
    expect(tokens.verify(t, T0 + 9_999)).not.toBeNull();
    expect(tokens.verify(t, T0 + 10_000)).toBeNull();
    expect(db.prepare('SELECT COUNT(*) FROM tokens').pluck().get()).toBe(0);
    db.close();
  });

  it('purges expired tokens only', () => {
    const db = openDatabase(':memory:');
    const tokens = new TokenStore(db);
    tokens.issue('a', 1, T0);
    tokens.issue('b', 2, T0);
    const keep = tokens.issue('c', 100, T0);
    expect(tokens.purgeExpired(T0 + 2_000)).toBe(2);
    expect(tokens.verify(keep, T0 + 2_000)).toEqual({ username: 'c' });
    db.close();
  });

  it('revokes single tokens and whole users', () => {
    const db = openDatabase(':memory:');
    const tokens = new TokenStore(db);
    const a1 = tokens.issue('a', 60, T0);
    const a2 = tokens.issue('a', 60, T0);
    const b = tokens.issue('b', 60, T0);
    expect(tokens.revoke(a1)).toBe(true);
    expect(tokens.verify(a1, T0)).toBeNull();
    expect(tokens.revokeUser('a')).toBe(1);
    expect(tokens.verify(a2, T0)).toBeNull();
    expect(tokens.verify(b, T0)).toEqual({ username: 'b' });
    db.close();
  });

  it('survives close and reopen (a restart logs nobody out)', () => {
    const path = join(dir, 'spawner.db');
    const db = openDatabase(path);
    const t = new TokenStore(db).issue('alice', 60, T0);
    db.close();
    const reopened = openDatabase(path);
    expect(new TokenStore(reopened).verify(t, T0 + 1_000)).toEqual({ username: 'alice' });
    reopened.close();
  });
});
