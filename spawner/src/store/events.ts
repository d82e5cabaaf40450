/**
 * Append-only lifecycle log. There is deliberately no update/delete method, and triggers in the
 * schema reject UPDATE/DELETE, so history survives bugs as well as instance removal.
 */
import type { LifecycleEvent, LifecycleKind } from '../instances/types.js';
import type { Database } from './db.js';

export interface NewLifecycleEvent {
  instance: string;
  kind: LifecycleKind;
  reason?: string | null;
  detail?: Record<string, unknown> | null;
}

export interface EventQuery {
  instance?: string;
  /** Default 100, at most 1000. */
  limit?: number;
  /** Page forward: only events with id > afterId, oldest first. */
  afterId?: number;
}

interface Row {
  id: number;
  at: number;
  instance: string;
  kind: string;
  reason: string | null;
  detail: string | null;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const COLS = 'id, at, instance, kind, reason, detail';

function toEvent(r: Row): LifecycleEvent {
  return {
    id: r.id,
    at: r.at,
    instance: r.instance,
    kind: r.kind as LifecycleKind,
    reason: r.reason,
    detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
  };
}

export type EventListener = (ev: LifecycleEvent) => void;

export class EventLog {
  private readonly stmts;
  private readonly listeners = new Set<EventListener>();

  constructor(db: Database) {
    const p = <T>(sql: string) => db.prepare<unknown[], T>(sql);
    // One statement per query shape (instead of `? IS NULL OR instance = ?`) so SQLite can use
    // the (instance, id) index.
    this.stmts = {
      append: p<Row>(
        `INSERT INTO events (at, instance, kind, reason, detail) VALUES (?, ?, ?, ?, ?)
         RETURNING ${COLS}`,
      ),
      afterAll: p<Row>(`SELECT ${COLS} FROM events WHERE id > ? ORDER BY id LIMIT ?`),
      afterOne: p<Row>(
        `SELECT ${COLS} FROM events WHERE instance = ? AND id > ? ORDER BY id LIMIT ?`,
      ),
      lastOfKind: p<Row>(`SELECT ${COLS} FROM events WHERE kind = ? ORDER BY id DESC LIMIT ?`),
      countByInstance: p<{ instance: string; n: number }>(
        'SELECT instance, COUNT(*) AS n FROM events WHERE kind = ? GROUP BY instance',
      ),
      tailAll: p<Row>(
        `SELECT * FROM (SELECT ${COLS} FROM events ORDER BY id DESC LIMIT ?) ORDER BY id`,
      ),
      tailOne: p<Row>(
        `SELECT * FROM (SELECT ${COLS} FROM events WHERE instance = ? ORDER BY id DESC LIMIT ?)
         ORDER BY id`,
      ),
    };
  }

  append(ev: NewLifecycleEvent, at: number): LifecycleEvent {
    const detail = ev.detail == null ? null : JSON.stringify(ev.detail);
    const row = this.stmts.append.get(at, ev.instance, ev.kind, ev.reason ?? null, detail);
    if (!row) throw new Error('event insert returned no row');
    const out = toEvent(row);
    // Observers (the console's live view) must never break the domain operation that logged it.
    for (const l of this.listeners) {
      try { l(out); } catch { /* an observer's bug is its own */ }
    }
    return out;
  }

  /** Called with every appended event, after it is stored. Returns the unsubscribe function. */
  subscribe(l: EventListener): () => void {
    this.listeners.add(l);
    return () => { this.listeners.delete(l); };
  }

  /** The newest `limit` events of one kind across every instance, newest first. */
  lastOfKind(kind: LifecycleKind, limit: number): LifecycleEvent[] {
    return this.stmts.lastOfKind.all(kind, Math.min(Math.max(Math.trunc(limit), 1), MAX_LIMIT)).map(toEvent);
  }

  /** How many events of one kind each instance has (history survives removal, so names may be gone). */
  countByInstance(kind: LifecycleKind): Map<string, number> {
    return new Map(this.stmts.countByInstance.all(kind).map((r) => [r.instance, r.n]));
  }

  /**
   * Newest last. Without afterId: the most recent `limit` events. With afterId: the next
   * `limit` events after it (for polling/paging without gaps).
   */
  list(q: EventQuery = {}): LifecycleEvent[] {
    const limit = Math.min(Math.max(Math.trunc(q.limit ?? DEFAULT_LIMIT), 1), MAX_LIMIT);
    let rows: Row[];
    if (q.afterId !== undefined) {
      rows = q.instance === undefined
        ? this.stmts.afterAll.all(q.afterId, limit)
        : this.stmts.afterOne.all(q.instance, q.afterId, limit);
    } else {
      rows = q.instance === undefined
        ? this.stmts.tailAll.all(limit)
        : this.stmts.tailOne.all(q.instance, limit);
    }
    return rows.map(toEvent);
  }
}
