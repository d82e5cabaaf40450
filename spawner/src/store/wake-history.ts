/**
 * Read-only queries over the lifecycle log's wake records, for an instance's status. A wake is a
 * `wake` event whose container this wake started (`detail.started`): a wake that found the
 * container running (a `?wait=true` deploy, a request racing a start) only passed the gate. Events
 * outlive their instance, so every query takes `since` (the instance's creation): a new instance
 * with an old name does not inherit the old one's wakes.
 */
import type { Database } from './db.js';

export interface WakeRecords {
  count: number;
  failed: number;
  /** The newest wakes first (at most `limit`): when, and their `total` duration in ms. */
  recent: { at: number; ms: number }[];
}

export class WakeHistory {
  private readonly stmts;

  constructor(db: Database) {
    const p = <T>(sql: string) => db.prepare<unknown[], T>(sql);
    // Spelled exactly as the partial index events_wakes (migrations.ts), so SQLite uses it.
    const started = "kind = 'wake' AND json_extract(detail, '$.started') = 1";
    this.stmts = {
      count: p<{ n: number }>(`SELECT COUNT(*) AS n FROM events WHERE instance = ? AND at >= ? AND ${started}`),
      failed: p<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE instance = ? AND at >= ? AND kind = 'wake_failed'"),
      recent: p<{ at: number; ms: number | null }>(
        `SELECT at, json_extract(detail, '$.total') AS ms FROM events WHERE instance = ? AND at >= ? AND ${started}
         ORDER BY at DESC, id DESC LIMIT ?`,
      ),
      countAll: p<{ instance: string; n: number }>(
        `SELECT e.instance, COUNT(*) AS n FROM events e JOIN instances i ON i.name = e.instance
         WHERE e.at >= i.created_at AND e.kind = 'wake' AND json_extract(e.detail, '$.started') = 1
         GROUP BY e.instance`,
      ),
    };
  }

  of(instance: string, since: number, limit: number): WakeRecords {
    return {
      count: this.stmts.count.get(instance, since)?.n ?? 0,
      failed: this.stmts.failed.get(instance, since)?.n ?? 0,
      recent: this.stmts.recent.all(instance, since, limit).map((r) => ({ at: r.at, ms: typeof r.ms === 'number' ? r.ms : 0 })),
    };
  }

  /** Wakes per existing instance (since its creation): the starting point of the in-memory counts. */
  countsByInstance(): Map<string, number> {
    return new Map(this.stmts.countAll.all().map((r) => [r.instance, r.n]));
  }
}
