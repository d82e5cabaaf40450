/** The `instance_volume` table: which volume an instance mounts, where, and whether it is there. */
import type { Database } from './db.js';

export type VolumeStatus = 'attached' | 'missing';

export interface VolumeRecord {
  instance: string;
  /** The engine's volume name (derived from the instance name, never from a request). */
  name: string;
  /** Mount path inside the container. */
  path: string;
  status: VolumeStatus;
  /** The instance's deploy made this volume (false: it mounted a retained one). */
  created: boolean;
  createdAt: number;
}

interface Row { instance: string; name: string; path: string; status: string; created: number; created_at: number }

const toRecord = (r: Row): VolumeRecord => ({
  instance: r.instance, name: r.name, path: r.path, status: r.status as VolumeStatus, created: r.created === 1, createdAt: r.created_at,
});

export class VolumeStore {
  private readonly stmts;

  constructor(db: Database) {
    const p = <T>(sql: string) => db.prepare<unknown[], T>(sql);
    this.stmts = {
      insert: p('INSERT INTO instance_volume (instance, name, path, status, created, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      get: p<Row>('SELECT * FROM instance_volume WHERE instance = ?'),
      list: p<Row>('SELECT * FROM instance_volume ORDER BY instance'),
      setStatus: p('UPDATE instance_volume SET status = ? WHERE instance = ? AND status <> ?'),
    };
  }

  /** The instance row must exist (foreign key); deleting it deletes this row too. */
  insert(rec: VolumeRecord): void {
    this.stmts.insert.run(rec.instance, rec.name, rec.path, rec.status, rec.created ? 1 : 0, rec.createdAt);
  }

  get(instance: string): VolumeRecord | undefined {
    const row = this.stmts.get.get(instance);
    return row ? toRecord(row) : undefined;
  }

  list(): VolumeRecord[] {
    return this.stmts.list.all().map(toRecord);
  }

  /** True when the status changed (so a flag is logged once, not at every rescan). */
  setStatus(instance: string, status: VolumeStatus): boolean {
    return this.stmts.setStatus.run(status, instance, status).changes > 0;
  }
}
