/** The `instance_stats` table: requests served per instance (instances/stats.ts keeps them). */
import { STATUS_CLASSES, zeroCounts, type ClassCounts } from '../instances/request-counts.js';
import type { Database } from './db.js';
import { getMeta, setMeta } from './db.js';

export interface StoredStats {
  instance: string;
  counts: ClassCounts;
  lastRequestAt: number | null;
  baselines: Map<string, number>;
}

interface Row {
  instance: string;
  r1xx: number; r2xx: number; r3xx: number; r4xx: number; r5xx: number; rother: number;
  last_request_at: number | null;
  baselines: string;
}

const col = (c: string) => `r${c}`;
const COUNT_COLS = STATUS_CLASSES.map(col);
const TRAEFIK_START_KEY = 'traefik_started_at';

export class StatsStore {
  private readonly stmts;

  constructor(private readonly db: Database) {
    const p = <T>(sql: string) => db.prepare<unknown[], T>(sql);
    const cols = ['instance', ...COUNT_COLS, 'last_request_at', 'baselines'];
    this.stmts = {
      all: p<Row>(`SELECT ${cols.join(', ')} FROM instance_stats`),
      // Only for an instance that exists (the foreign key would refuse the others anyway): a
      // Traefik service of a name we do not have, or one removed between scrape and save, is dropped.
      save: p(`INSERT INTO instance_stats (${cols.join(', ')})
        SELECT ${cols.map((c) => `@${c}`).join(', ')} WHERE EXISTS (SELECT 1 FROM instances WHERE name = @instance)
        ON CONFLICT (instance) DO UPDATE SET ${cols.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`),
    };
  }

  all(): StoredStats[] {
    return this.stmts.all.all().map((r) => {
      const counts = zeroCounts();
      for (const c of STATUS_CLASSES) counts[c] = r[col(c) as keyof Row] as number;
      const parsed = JSON.parse(r.baselines) as Record<string, number>;
      return { instance: r.instance, counts, lastRequestAt: r.last_request_at, baselines: new Map(Object.entries(parsed)) };
    });
  }

  /** One transaction for a whole scrape's changes. */
  saveAll(rows: readonly StoredStats[], traefikStartedAt: number | undefined): void {
    this.db.transaction(() => {
      for (const s of rows) {
        const row: Record<string, unknown> = { instance: s.instance, last_request_at: s.lastRequestAt, baselines: JSON.stringify(Object.fromEntries(s.baselines)) };
        for (const c of STATUS_CLASSES) row[col(c)] = s.counts[c];
        this.stmts.save.run(row);
      }
      if (traefikStartedAt !== undefined) setMeta(this.db, TRAEFIK_START_KEY, String(traefikStartedAt));
    })();
  }

  traefikStartedAt(): number | undefined {
    const v = getMeta(this.db, TRAEFIK_START_KEY);
    return v === undefined ? undefined : Number(v);
  }
}
