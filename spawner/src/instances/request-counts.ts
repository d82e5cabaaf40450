/**
 * Requests served per instance, from successive scrapes of Traefik's per-service counters
 * (`traefik_service_requests_total`, one series per service, code, method and protocol). Pure.
 *
 * Traefik's counters are not ours to trust as totals: they start at 0 when Traefik starts, and a
 * service's series vanish when Traefik drops the service (its instance stopped) and come back
 * from 0 with it. So we keep our own totals and add, per series, what changed since the
 * previous scrape:
 * - a series we have no baseline for (new, or back after it vanished) counts its whole value:
 *   everything in it was served since the series (re)appeared;
 * - a series that went down was reset (Traefik restarted): its new value is what it served since;
 * - Traefik's `process_start_time_seconds` changing means Traefik restarted: every baseline is
 *   void, even of a series that has already grown past its old value again.
 * What Traefik served between our last scrape and its restart (or a service's drop) is lost:
 * our totals never go down, and may undercount by at most one scrape period of traffic.
 */
import type { RequestSeries } from '../reaper/prometheus.js';

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];
export type ClassCounts = Record<StatusClass, number>;

/** Per instance: the value of each of its series at the previous scrape. */
export type Baselines = Map<string, Map<string, number>>;

export interface Scrape {
  series: readonly RequestSeries[];
  traefikStartedAt?: number;
  /** Order the scrapes were started in; one older than the last accounted for is dropped. */
  seq?: number;
}

export function zeroCounts(): ClassCounts {
  return { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 };
}

/** `200` → `2xx`; anything but a three-digit 1xx–5xx code (Traefik may say `0` for an aborted request) → `other`. */
export function statusClass(code: string): StatusClass {
  return /^[1-5][0-9][0-9]$/.test(code) ? (`${code[0]}xx` as StatusClass) : 'other';
}

export function total(c: ClassCounts): number {
  return STATUS_CLASSES.reduce((n, k) => n + c[k], 0);
}

export interface Accounted {
  /** What each instance served since the previous scrape, by class (instances with nothing new are absent). */
  deltas: Map<string, ClassCounts>;
  /** The baselines for the next scrape: exactly the series of this one. */
  baselines: Baselines;
  /** True when Traefik's start time changed since the previous scrape. */
  traefikRestarted: boolean;
}

export function account(prev: Baselines, prevStartedAt: number | undefined, scrape: Scrape): Accounted {
  const restarted = prevStartedAt !== undefined && scrape.traefikStartedAt !== undefined && scrape.traefikStartedAt !== prevStartedAt;
  const deltas = new Map<string, ClassCounts>();
  const baselines: Baselines = new Map();
  for (const s of scrape.series) {
    const before = restarted ? undefined : prev.get(s.instance)?.get(s.key);
    const delta = before === undefined || s.value < before ? s.value : s.value - before;
    let own = baselines.get(s.instance);
    if (!own) baselines.set(s.instance, (own = new Map()));
    own.set(s.key, s.value);
    // Counters are integers; Traefik prints some as floats (1e+03).
    const n = Math.round(delta);
    if (n <= 0) continue;
    const d = deltas.get(s.instance) ?? zeroCounts();
    d[statusClass(s.code)] += n;
    deltas.set(s.instance, d);
  }
  return { deltas, baselines, traefikRestarted: restarted };
}

/** False when an instance's baselines changed (a series appeared, moved or vanished): then they are worth saving. */
export function sameBaselines(a: ReadonlyMap<string, number> | undefined, b: ReadonlyMap<string, number> | undefined): boolean {
  if ((a?.size ?? 0) !== (b?.size ?? 0)) return false;
  for (const [k, v] of a ?? []) if (b?.get(k) !== v) return false;
  return true;
}
