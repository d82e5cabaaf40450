/**
 * The `instance_revisions` table: one row per deploy or redeploy of an instance. What a revision
 * ran is immutable (a trigger refuses updates of those columns); only its outcome moves. The env
 * column is opaque bytes here: instances/revisions.ts seals and opens it.
 */
import type { Database } from './db.js';

export type RevisionStatus = 'pending' | 'active' | 'superseded' | 'failed';

export interface RevisionRow {
  instance: string;
  n: number;
  image: string;
  imageId: string | null;
  /** JSON of the DeploySpec without name, env and init. */
  spec: string;
  env: Buffer;
  envSealed: boolean;
  createdBy: string;
  createdAt: number;
  status: RevisionStatus;
  failedStep: string | null;
  reason: string | null;
  containerId: string | null;
}

interface Row {
  instance: string; n: number; image: string; image_id: string | null; spec: string; env: Buffer;
  env_sealed: number; created_by: string; created_at: number; status: string;
  failed_step: string | null; reason: string | null; container_id: string | null;
}

const COLUMNS = 'instance, n, image, image_id, spec, env, env_sealed, created_by, created_at, status, failed_step, reason, container_id';

const toRow = (r: Row): RevisionRow => ({
  instance: r.instance, n: r.n, image: r.image, imageId: r.image_id, spec: r.spec, env: r.env,
  envSealed: r.env_sealed === 1, createdBy: r.created_by, createdAt: r.created_at,
  status: r.status as RevisionStatus, failedStep: r.failed_step, reason: r.reason, containerId: r.container_id,
});

export class RevisionStore {
  private readonly stmts;

  constructor(private readonly db: Database) {
    const p = <T>(sql: string) => db.prepare<unknown[], T>(sql);
    this.stmts = {
      insert: p(`INSERT INTO instance_revisions (${COLUMNS}) VALUES (@instance, @n, @image, @image_id, @spec,
        @env, @env_sealed, @created_by, @created_at, @status, NULL, NULL, @container_id)`),
      next: p<{ n: number }>('SELECT COALESCE(MAX(n), 0) + 1 AS n FROM instance_revisions WHERE instance = ?'),
      get: p<Row>(`SELECT ${COLUMNS} FROM instance_revisions WHERE instance = ? AND n = ?`),
      list: p<Row>(`SELECT ${COLUMNS} FROM instance_revisions WHERE instance = ? ORDER BY n DESC`),
      active: p<Row>(`SELECT ${COLUMNS} FROM instance_revisions WHERE instance = ? AND status = 'active'`),
      pending: p<Row>(`SELECT ${COLUMNS} FROM instance_revisions WHERE status = 'pending'`),
      supersede: p("UPDATE instance_revisions SET status = 'superseded' WHERE instance = ? AND status = 'active'"),
      activate: p("UPDATE instance_revisions SET status = 'active', container_id = ?, image_id = COALESCE(?, image_id) WHERE instance = ? AND n = ?"),
      fail: p("UPDATE instance_revisions SET status = 'failed', failed_step = ?, reason = ? WHERE instance = ? AND n = ? AND status = 'pending'"),
      setContainer: p('UPDATE instance_revisions SET container_id = ? WHERE instance = ? AND n = ?'),
      // Keeps the newest `keep` revisions that are not active (nor pending): bounded history.
      prune: p(`DELETE FROM instance_revisions WHERE instance = ? AND status IN ('superseded', 'failed') AND n NOT IN (
        SELECT n FROM instance_revisions WHERE instance = ? AND status IN ('superseded', 'failed') ORDER BY n DESC LIMIT ?)`),
    };
  }

  /** The number the instance's next revision gets (numbers are never reused while rows exist). */
  nextNumber(instance: string): number {
    return this.stmts.next.get(instance)?.n ?? 1;
  }

  insert(r: Omit<RevisionRow, 'failedStep' | 'reason'>): void {
    this.stmts.insert.run({
      instance: r.instance, n: r.n, image: r.image, image_id: r.imageId, spec: r.spec, env: r.env,
      env_sealed: r.envSealed ? 1 : 0, created_by: r.createdBy, created_at: r.createdAt, status: r.status,
      container_id: r.containerId,
    });
  }

  get(instance: string, n: number): RevisionRow | undefined {
    const row = this.stmts.get.get(instance, n);
    return row ? toRow(row) : undefined;
  }

  /** Newest first. */
  list(instance: string): RevisionRow[] {
    return this.stmts.list.all(instance).map(toRow);
  }

  active(instance: string): RevisionRow | undefined {
    const row = this.stmts.active.get(instance);
    return row ? toRow(row) : undefined;
  }

  /** Every pending revision (of any instance): at start-up, switches a crash interrupted. */
  pending(): RevisionRow[] {
    return this.stmts.pending.all().map(toRow);
  }

  /** Revision n becomes the active one, the previous active superseded; then history is pruned. */
  activate(instance: string, n: number, containerId: string, imageId: string | null, keep: number): void {
    this.stmts.supersede.run(instance);
    this.stmts.activate.run(containerId, imageId, instance, n);
    this.stmts.prune.run(instance, instance, keep);
  }

  /** Only a pending revision can fail (an active one that stops serving is a wake matter). */
  fail(instance: string, n: number, step: string, reason: string): boolean {
    return this.stmts.fail.run(step, reason.slice(0, 500), instance, n).changes > 0;
  }

  setContainer(instance: string, n: number, containerId: string): void {
    this.stmts.setContainer.run(containerId, instance, n);
  }

  /** Runs fn in one SQLite transaction (every store on this database joins it). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
