/** Server side of the table: an instance's view and record → one ConsoleRow (pure). */
import type { InstanceView } from '../instances/deps.js';
import type { InstanceRecord } from '../instances/types.js';
import { idleTimeoutSec, lastActivityAt } from '../reaper/policy.js';
import type { ConsoleRow } from './web/types.js';

export interface WakeStats {
  count: number;
  lastMs: number | null;
}

export function toRow(
  view: InstanceView,
  rec: InstanceRecord,
  opts: { defaultIdleSec: number; startedAt?: string; runningSince?: number; wakes?: WakeStats },
): ConsoleRow {
  const timeout = idleTimeoutSec(rec, opts.defaultIdleSec);
  const running = view.status === 'running';
  return {
    name: view.name,
    state: view.status,
    health: view.health,
    routing: view.routing,
    image: view.image,
    // The column appears once instances have revisions (instances deployed before have none).
    ...(view.revision != null ? { revision: `r${view.revision}` } : {}),
    idleTimeoutSec: timeout,
    // The reaper's own rule (policy.ts). Its clock starts no earlier than the moment the console
    // saw the container running (a start event carries no StartedAt): an estimate, never early.
    idleDueAt: running && timeout > 0 ? lastActivityAt(rec, opts.startedAt, opts.runningSince) + timeout * 1000 : null,
    lastRequestAt: rec.lastActivityAt,
    wakes: opts.wakes?.count ?? 0,
    lastWakeMs: opts.wakes?.lastMs ?? null,
    labels: view.labels,
    createdAt: rec.createdAt,
  };
}

/** Rows of `next` that differ from `prev`, and names that are gone: what an SSE update carries. */
export function diffRows(prev: ReadonlyMap<string, string>, next: readonly ConsoleRow[]): { changed: ConsoleRow[]; removed: string[]; keys: Map<string, string> } {
  const keys = new Map<string, string>();
  const changed: ConsoleRow[] = [];
  for (const r of next) {
    const k = JSON.stringify(r);
    keys.set(r.name, k);
    if (prev.get(r.name) !== k) changed.push(r);
  }
  const removed = [...prev.keys()].filter((n) => !keys.has(n));
  return { changed, removed, keys };
}

/** Nearest-rank percentile of unsorted values (ms). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? 0;
}
