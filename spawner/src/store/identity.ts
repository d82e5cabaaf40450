/** The `instance_identity` table: sha256 of each instance's identity credential. */
import type { Database } from './db.js';

export class IdentityStore {
  private readonly stmts;

  constructor(db: Database) {
    const p = <T>(sql: string) => db.prepare<unknown[], T>(sql);
    this.stmts = {
      // Upsert: a redeploy (a new container with a new credential) replaces the old hash.
      set: p(`INSERT INTO instance_identity (instance, hash, created_at, revoked_at) VALUES (?, ?, ?, NULL)
        ON CONFLICT (instance) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at, revoked_at = NULL`),
      byHash: p<{ instance: string }>('SELECT instance FROM instance_identity WHERE hash = ? AND revoked_at IS NULL'),
      revoke: p('UPDATE instance_identity SET revoked_at = ? WHERE instance = ? AND revoked_at IS NULL'),
    };
  }

  /** Sets (or rotates) the instance's credential hash; un-revokes. */
  set(instance: string, hash: string, at: number): void {
    this.stmts.set.run(instance, hash, at);
  }

  /** The instance whose live (not revoked) credential has this hash. */
  instanceOf(hash: string): string | undefined {
    return this.stmts.byHash.get(hash)?.instance;
  }

  /** Returns false when there was nothing live to revoke. */
  revoke(instance: string, at: number): boolean {
    return this.stmts.revoke.run(at, instance).changes > 0;
  }
}
