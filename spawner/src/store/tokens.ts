/**
 * Login tokens. Only sha256(token) is stored: the raw token exists only in the login response
 * and the client. Tokens live in SQLite so a restart logs nobody out.
 *
 * Lookup is by hash through the primary-key index. That is not a timing oracle worth guarding:
 * an attacker cannot steer the hash of a guess towards a stored hash byte by byte.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Database } from './db.js';

/** Bounds what we hash from a header; real tokens are 43 chars. */
const MAX_TOKEN_LENGTH = 512;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class TokenStore {
  private readonly stmts;

  constructor(db: Database) {
    this.stmts = {
      insert: db.prepare('INSERT INTO tokens (hash, username, expires_at) VALUES (?, ?, ?)'),
      get: db.prepare<[string], { username: string; expires_at: number }>(
        'SELECT username, expires_at FROM tokens WHERE hash = ?',
      ),
      delete: db.prepare('DELETE FROM tokens WHERE hash = ?'),
      deleteUser: db.prepare('DELETE FROM tokens WHERE username = ?'),
      purge: db.prepare('DELETE FROM tokens WHERE expires_at <= ?'),
    };
  }

  /** Returns a fresh 32-byte base64url token valid for ttlSec from `now` (ms). */
  issue(username: string, ttlSec: number, now: number): string {
    const token = randomBytes(32).toString('base64url');
    this.stmts.insert.run(hashToken(token), username, now + Math.round(ttlSec * 1000));
    return token;
  }

  /** The token's owner, or null if unknown or expired (an expired token is deleted). */
  verify(token: string, now: number): { username: string } | null {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      return null;
    }
    const hash = hashToken(token);
    const row = this.stmts.get.get(hash);
    if (!row) return null;
    if (row.expires_at <= now) {
      this.stmts.delete.run(hash);
      return null;
    }
    return { username: row.username };
  }

  /** Logout. Returns whether the token existed. */
  revoke(token: string): boolean {
    return this.stmts.delete.run(hashToken(token)).changes > 0;
  }

  /** Logs a user out everywhere (e.g. after a password change). */
  revokeUser(username: string): number {
    return this.stmts.deleteUser.run(username).changes;
  }

  /** Deletes expired tokens; returns how many. Call periodically. */
  purgeExpired(now: number): number {
    return this.stmts.purge.run(now).changes;
  }
}
