/**
 * The `instance_init` table: an instance's initialization option and its state. Sealed columns
 * (request, result) are opaque bytes here; instances/init.ts seals and opens them.
 */
import type { Database } from './db.js';

export type InitMode = 'once' | 'every-start';
export type InitStatus = 'pending' | 'running' | 'done' | 'failed';

export interface InitRecord {
  instance: string;
  path: string;
  mode: InitMode;
  deadlineSec: number;
  /** Sealed {payload, credentials}: kept so a retry sends exactly what the first attempt sent. */
  request: Buffer;
  idempotencyKey: string;
  status: InitStatus;
  /** Why the last run failed; never contains the payload, the credentials or the answer. */
  reason: string | null;
  /** Sealed answer of the instance (JSON text). */
  result: Buffer | null;
  /** Runs of init (not HTTP attempts). */
  attempts: number;
  updatedAt: number;
}

interface Row {
  instance: string; path: string; mode: string; deadline_sec: number; request: Buffer;
  idempotency_key: string; status: string; reason: string | null; result: Buffer | null;
  attempts: number; updated_at: number;
}

const toRecord = (r: Row): InitRecord => ({
  instance: r.instance, path: r.path, mode: r.mode as InitMode, deadlineSec: r.deadline_sec,
  request: r.request, idempotencyKey: r.idempotency_key, status: r.status as InitStatus,
  reason: r.reason, result: r.result, attempts: r.attempts, updatedAt: r.updated_at,
});

export class InitStore {
  private readonly stmts;

  constructor(db: Database) {
    const p = <T>(sql: string) => db.prepare<unknown[], T>(sql);
    this.stmts = {
      insert: p(`INSERT INTO instance_init (instance, path, mode, deadline_sec, request, idempotency_key,
        status, reason, result, attempts, updated_at)
        VALUES (@instance, @path, @mode, @deadlineSec, @request, @idempotencyKey, @status, @reason,
        @result, @attempts, @updatedAt)`),
      get: p<Row>('SELECT * FROM instance_init WHERE instance = ?'),
      unfinished: p<{ instance: string }>("SELECT instance FROM instance_init WHERE status IN ('pending', 'running') ORDER BY instance"),
      count: p<{ n: number }>('SELECT COUNT(*) AS n FROM instance_init'),
      running: p("UPDATE instance_init SET status = 'running', attempts = attempts + 1, updated_at = ? WHERE instance = ?"),
      done: p("UPDATE instance_init SET status = 'done', reason = NULL, result = ?, updated_at = ? WHERE instance = ?"),
      failed: p("UPDATE instance_init SET status = 'failed', reason = ?, updated_at = ? WHERE instance = ?"),
    };
  }

  insert(rec: InitRecord): void {
    this.stmts.insert.run(rec);
  }

  get(instance: string): InitRecord | undefined {
    const row = this.stmts.get.get(instance);
    return row ? toRecord(row) : undefined;
  }

  /** Instances whose init was under way or never ran (e.g. the spawner was killed meanwhile). */
  unfinished(): string[] {
    return this.stmts.unfinished.all().map((r) => r.instance);
  }

  count(): number {
    return this.stmts.count.get()?.n ?? 0;
  }

  markRunning(instance: string, at: number): void {
    this.stmts.running.run(at, instance);
  }

  markDone(instance: string, sealedResult: Buffer, at: number): void {
    this.stmts.done.run(sealedResult, at, instance);
  }

  markFailed(instance: string, reason: string, at: number): void {
    this.stmts.failed.run(reason, at, instance);
  }
}
