/**
 * An instance's status (wunderproxy's /status): requests served by status class, last request,
 * uptime, wakes and their durations. Fed by two things the spawner does anyway, never by a
 * scrape of its own:
 * - the idle reaper's scrape of Traefik's /metrics, every idleCheckSec (observe(): the
 *   accounting is request-counts.ts; totals and baselines are saved in `instance_stats`);
 * - the wake path's records in the lifecycle log (`wake` events carry the wake's `total` ms).
 * The request figures are as fresh as the last reaper round; a request is dated at the round
 * that saw it. They count what Traefik counted for the instance's services, which includes the
 * wake gate's one request through Traefik (SPAWNER_PROBE_THROUGH_PROXY) per wake.
 */
import type { Config } from '../config.js';
import type { EventLog } from '../store/events.js';
import type { InstanceStore } from '../store/instances.js';
import type { StatsStore, StoredStats } from '../store/stats.js';
import type { WakeHistory } from '../store/wake-history.js';
import { account, sameBaselines, STATUS_CLASSES, total, zeroCounts, type Baselines, type ClassCounts, type Scrape } from './request-counts.js';
import { renderFamily } from '../metrics.js';
import { CappedSeries } from './stats-metrics.js';
import type { ContainerStates } from './states.js';
import type { InstanceRecord, LifecycleEvent } from './types.js';

/** The median is over this many of the newest wakes (the count is over all of them). */
export const WAKE_WINDOW = 100;

export interface InstanceStatus {
  /** When Traefik's counters were last read (the request figures are as of then); null: not yet. */
  asOf: string | null;
  requests: number;
  responses: ClassCounts;
  lastRequestAt: string | null;
  /** The running container's start; null when it is not running. */
  startedAt: string | null;
  uptimeSec: number | null;
  wakes: { count: number; failed: number; lastAt: string | null; lastMs: number | null; medianMs: number | null };
}

export interface StatsDeps {
  cfg: Pick<Config, 'statusMetricsInstances'>;
  store: StatsStore;
  wakes: WakeHistory;
  instances: Pick<InstanceStore, 'list'>;
  events: Pick<EventLog, 'subscribe'>;
  now: () => number;
  /** Start (ms) of each running container by instance, for the uptime series on /metrics. */
  runningSince?: () => Map<string, number>;
}

interface Figures { counts: ClassCounts; lastRequestAt: number | null }

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export class InstanceStats {
  private readonly figures = new Map<string, Figures>();
  private baselines: Baselines = new Map();
  private traefikStartedAt: number | undefined;
  private lastScrapeAt: number | null = null;
  private lastSeq = 0;
  private readonly wakeCounts: Map<string, number>;
  private readonly lastWakeMs = new Map<string, number>();
  readonly series: CappedSeries;
  private readonly unsubscribe: () => void;

  constructor(private readonly d: StatsDeps) {
    this.series = new CappedSeries(d.cfg.statusMetricsInstances);
    for (const s of d.store.all()) {
      this.figures.set(s.instance, { counts: s.counts, lastRequestAt: s.lastRequestAt });
      this.baselines.set(s.instance, s.baselines);
    }
    this.traefikStartedAt = d.store.traefikStartedAt();
    this.wakeCounts = d.wakes.countsByInstance();
    // Slots for what was counted before this start, in name order.
    const counted = new Set([...this.figures.keys(), ...this.wakeCounts.keys()]);
    for (const name of [...counted].sort()) this.series.record(name, {});
    for (const rec of d.instances.list()) {
      const last = this.series.hasSlot(rec.name) ? d.wakes.of(rec.name, rec.createdAt, 1).recent[0] : undefined;
      if (last) this.lastWakeMs.set(rec.name, last.ms);
    }
    this.unsubscribe = d.events.subscribe((ev) => this.onEvent(ev));
  }

  close(): void {
    this.unsubscribe();
  }

  /** One scrape of Traefik's counters (from the reaper's round). */
  observe(scrape: Scrape, now: number): void {
    // An older reading after a newer one would look like a counter reset and be counted again.
    if (scrape.seq !== undefined) {
      if (scrape.seq <= this.lastSeq) return;
      this.lastSeq = scrape.seq;
    }
    this.lastScrapeAt = now;
    const a = account(this.baselines, this.traefikStartedAt, scrape);
    const changed: StoredStats[] = [];
    for (const { name } of this.d.instances.list()) {
      const delta = a.deltas.get(name);
      const next = a.baselines.get(name) ?? new Map<string, number>();
      if (!delta && sameBaselines(this.baselines.get(name), next)) continue;
      const f = this.figures.get(name) ?? { counts: zeroCounts(), lastRequestAt: null };
      if (delta) {
        for (const c of STATUS_CLASSES) f.counts[c] += delta[c];
        f.lastRequestAt = now;
        this.series.record(name, { counts: delta });
      }
      this.figures.set(name, f);
      changed.push({ instance: name, counts: f.counts, lastRequestAt: f.lastRequestAt, baselines: next });
    }
    this.baselines = a.baselines;
    const startChanged = scrape.traefikStartedAt !== undefined && scrape.traefikStartedAt !== this.traefikStartedAt;
    if (scrape.traefikStartedAt !== undefined) this.traefikStartedAt = scrape.traefikStartedAt;
    if (changed.length || startChanged) this.d.store.saveAll(changed, startChanged ? scrape.traefikStartedAt : undefined);
  }

  /** The `stats` of GET /deploy/:name. `startedAt`: Docker's StartedAt when the container runs. */
  status(rec: InstanceRecord, startedAt: string | undefined): InstanceStatus {
    const f = this.figures.get(rec.name) ?? { counts: zeroCounts(), lastRequestAt: null };
    const w = this.d.wakes.of(rec.name, rec.createdAt, WAKE_WINDOW);
    const started = startedAt ? Date.parse(startedAt) : NaN;
    const up = Number.isNaN(started) ? null : Math.max(0, Math.round((this.d.now() - started) / 1000));
    return {
      asOf: iso(this.lastScrapeAt),
      requests: total(f.counts),
      responses: { ...f.counts },
      lastRequestAt: iso(f.lastRequestAt),
      startedAt: up === null ? null : new Date(started).toISOString(),
      uptimeSec: up,
      wakes: {
        count: w.count, failed: w.failed, lastAt: iso(w.recent[0]?.at ?? null),
        lastMs: w.recent[0]?.ms ?? null, medianMs: median(w.recent.map((r) => r.ms)),
      },
    };
  }

  /** The capped per-instance series for /metrics (a registry item). */
  render(): string {
    const running = this.d.runningSince?.() ?? new Map<string, number>();
    const asOf = renderFamily('spawner_instance_status_updated_timestamp_seconds', 'When Traefik\'s counters were last read for the status figures (by the idle reaper\'s round)', 'gauge',
      this.lastScrapeAt === null ? [] : [[{}, this.lastScrapeAt / 1000]]);
    return `${asOf}\n${this.series.render((name) => {
      const f = this.figures.get(name);
      return {
        counts: f?.counts ?? zeroCounts(), lastRequestAt: f?.lastRequestAt ?? null,
        wakes: this.wakeCounts.get(name) ?? 0, lastWakeMs: this.lastWakeMs.get(name) ?? null,
        startedAt: running.get(name) ?? null,
      };
    })}`;
  }

  private onEvent(ev: LifecycleEvent): void {
    if (ev.kind === 'wake' && ev.detail?.started === true) {
      this.wakeCounts.set(ev.instance, (this.wakeCounts.get(ev.instance) ?? 0) + 1);
      if (typeof ev.detail.total === 'number') this.lastWakeMs.set(ev.instance, ev.detail.total);
      this.series.record(ev.instance, { wakes: 1 });
    } else if (ev.kind === 'deployed' || ev.kind === 'removed') {
      // A new instance with this name starts from nothing (its stats row went with the old one).
      for (const m of [this.figures, this.baselines, this.wakeCounts, this.lastWakeMs]) m.delete(ev.instance);
      this.series.forget(ev.instance);
    }
  }
}

/** From the event-fed state cache (no engine call): what runs, since when. */
export function runningSince(instances: Pick<InstanceStore, 'list'>, states: Pick<ContainerStates, 'get'>): Map<string, number> {
  const out = new Map<string, number>();
  for (const rec of instances.list()) {
    const st = rec.containerId ? states.get(rec.containerId) : undefined;
    const t = st?.state === 'running' && st.startedAt ? Date.parse(st.startedAt) : NaN;
    if (!Number.isNaN(t)) out.set(rec.name, t);
  }
  return out;
}

/** The middle value (the mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
