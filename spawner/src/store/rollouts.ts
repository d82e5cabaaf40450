/** The `rollouts` and `rollout_items` tables: a rollout's spec, state and per-instance progress. */
import type {
  ItemStatus, RolloutItem, RolloutRecord, RolloutSpec, RolloutStatus,
} from '../rollouts/types.js';
import type { Database } from './db.js';

interface RolloutRow {
  id: number; spec: string; status: string; reason: string | null;
  created_by: string; created_at: number; updated_at: number;
}
interface ItemRow {
  instance: string; wave: number; status: string;
  from_revision: number | null; to_revision: number | null; reason: string | null;
}

const toItem = (r: ItemRow): RolloutItem => ({
  instance: r.instance, wave: r.wave, status: r.status as ItemStatus, // CHECK-guarded
  fromRevision: r.from_revision, toRevision: r.to_revision, reason: r.reason,
});

export class RolloutStore {
  private readonly stmts;

  constructor(private readonly db: Database) {
    const p = <T>(sql: string) => db.prepare<unknown[], T>(sql);
    this.stmts = {
      insert: p<{ id: number }>(`INSERT INTO rollouts (spec, status, reason, created_by, created_at, updated_at)
        VALUES (?, 'pulling', NULL, ?, ?, ?) RETURNING id`),
      insertItem: p(`INSERT INTO rollout_items (rollout, position, instance, wave, status) VALUES (?, ?, ?, ?, 'pending')`),
      get: p<RolloutRow>('SELECT * FROM rollouts WHERE id = ?'),
      list: p<RolloutRow>('SELECT * FROM rollouts ORDER BY id DESC LIMIT ?'),
      items: p<ItemRow>('SELECT * FROM rollout_items WHERE rollout = ? ORDER BY position'),
      setStatus: p('UPDATE rollouts SET status = ?, reason = ?, updated_at = ? WHERE id = ?'),
      setItem: p(`UPDATE rollout_items SET status = ?, from_revision = COALESCE(?, from_revision),
        to_revision = COALESCE(?, to_revision), reason = ? WHERE rollout = ? AND instance = ?`),
      touch: p('UPDATE rollouts SET updated_at = ? WHERE id = ?'),
      active: p<{ instance: string; id: number }>(`SELECT i.instance, r.id FROM rollout_items i JOIN rollouts r ON r.id = i.rollout
        WHERE r.status IN ('pulling', 'running', 'paused') AND i.status IN ('pending', 'upgrading')`),
      resumable: p<{ id: number }>(`SELECT id FROM rollouts WHERE status IN ('pulling', 'running') ORDER BY id`),
    };
  }

  /** The rollout and its items in one transaction: never a rollout without its instances. */
  create(spec: RolloutSpec, instances: readonly { name: string; wave: number }[], by: string, at: number): number {
    return this.db.transaction(() => {
      const { id } = this.stmts.insert.get(JSON.stringify(spec), by, at, at) as { id: number };
      instances.forEach((it, i) => this.stmts.insertItem.run(id, i, it.name, it.wave));
      return id;
    })();
  }

  get(id: number): RolloutRecord | undefined {
    const r = this.stmts.get.get(id);
    return r ? this.record(r) : undefined;
  }

  list(limit = 50): RolloutRecord[] {
    return this.stmts.list.all(limit).map((r) => this.record(r));
  }

  setStatus(id: number, status: RolloutStatus, reason: string | null, at: number): void {
    this.stmts.setStatus.run(status, reason, at, id);
  }

  setItem(id: number, instance: string, patch: {
    status: ItemStatus; fromRevision?: number | null; toRevision?: number | null; reason?: string | null;
  }, at: number): void {
    this.db.transaction(() => {
      this.stmts.setItem.run(patch.status, patch.fromRevision ?? null, patch.toRevision ?? null, patch.reason ?? null, id, instance);
      this.stmts.touch.run(at, id);
    })();
  }

  /** Instance → id of the unfinished rollout that still has to upgrade it. */
  busyInstances(): Map<string, number> {
    return new Map(this.stmts.active.all().map((r) => [r.instance, r.id]));
  }

  /** Rollouts a restart must pick up again (paused ones wait for the operator). */
  resumable(): number[] {
    return this.stmts.resumable.all().map((r) => r.id);
  }

  private record(r: RolloutRow): RolloutRecord {
    return {
      id: r.id, spec: JSON.parse(r.spec) as RolloutSpec, status: r.status as RolloutStatus,
      reason: r.reason, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at,
      items: this.stmts.items.all(r.id).map(toItem),
    };
  }
}
