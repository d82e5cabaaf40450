/**
 * The console's live model. The domain tells it that something changed (every lifecycle event
 * through EventLog.subscribe, every Docker event through notify() from main.ts); it recomputes
 * the rows (from the event-fed state cache: no Docker call), diffs them against what the pages
 * have, and pushes only the changed rows to every open event stream. A slow tick samples what no
 * event announces: the reaper's recorded activity, instances by state for the fleet history, and
 * Traefik's request counters (only while a page is open).
 */
import type { Config } from '../config.js';
import { errorMessage, type Logger } from '../log.js';
import type { InstanceService } from '../instances/service.js';
import type { LifecycleEvent } from '../instances/types.js';
import type { EventLog } from '../store/events.js';
import type { InstanceStore } from '../store/instances.js';
import type { TraefikApi } from '../traefik/api.js';
import { parseServiceActivity } from '../reaper/prometheus.js';
import { diffRows, percentile, toRow, type WakeStats } from './rows.js';
import { PHASES } from './web/charts.js';
import type { ConsoleRow, FleetView, InstanceDetail, WakeTiming } from './web/types.js';

export interface HubDeps {
  cfg: Pick<Config, 'idleTimeoutSec' | 'maxConcurrentStarts'>;
  service: Pick<InstanceService, 'list' | 'states'>;
  instances: Pick<InstanceStore, 'list' | 'get'>;
  events: Pick<EventLog, 'subscribe' | 'lastOfKind' | 'countByInstance' | 'list'>;
  startsInFlight: () => number;
  traefik?: Pick<TraefikApi, 'metrics'>;
  log: Logger;
  now: () => number;
  /** Period of the sampling tick; default 5 s. */
  tickMs?: number;
  /** Coalescing delay of notifications; default 100 ms. */
  debounceMs?: number;
}

export type Send = (event: string, data: unknown) => void;

const STATE_HISTORY = 720; // one hour at 5 s
const REQUEST_HISTORY = 120;
const RECENT_WAKES = 1000;

export function wakeTiming(ev: LifecycleEvent): WakeTiming {
  const d = ev.detail ?? {};
  const n = (k: string) => (typeof d[k] === 'number' ? (d[k] as number) : 0);
  return { at: ev.at, started: d.started === true, start: n('start'), health: n('health'), route: n('route'), probe: n('probe'), total: n('total') };
}

export class ConsoleHub {
  private readonly clients = new Set<Send>();
  private keys = new Map<string, string>();
  private rows: ConsoleRow[] = [];
  private wakeStats = new Map<string, WakeStats>();
  private recentWakes: WakeTiming[] = [];
  private readonly stateHistory: [number, Record<string, number>][] = [];
  private readonly requestHistory = new Map<string, [number, number][]>();
  /** When the hub first saw each instance running (since its last stop). */
  private readonly runningSince = new Map<string, number>();
  private lastRequestTotals: Map<string, number> | null = null;
  private pending: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private refreshing: Promise<void> = Promise.resolve();
  /** What the pages last got of the fleet view's live parts; a change pushes it at once. */
  private fleetSent = { starts: -1, wakes: -1 };

  constructor(private readonly d: HubDeps) {}

  /** Reads the wake history, then follows the log (same tick: no event falls in between). */
  start(): void {
    const counts = this.d.events.countByInstance('wake');
    const last = this.d.events.lastOfKind('wake', RECENT_WAKES);
    this.recentWakes = last.map(wakeTiming).reverse();
    this.wakeStats = new Map([...counts].map(([name, count]) => [name, { count, lastMs: null }]));
    for (const ev of last) {
      const s = this.wakeStats.get(ev.instance);
      if (s && s.lastMs === null) s.lastMs = wakeTiming(ev).total;
    }
    this.unsubscribe = this.d.events.subscribe((ev) => this.onEvent(ev));
    this.timer = setInterval(() => { void this.tick(); }, this.d.tickMs ?? 5_000);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    this.unsubscribe?.();
    clearInterval(this.timer);
    clearTimeout(this.pending);
    for (const c of this.clients) c('bye', {});
    this.clients.clear();
  }

  /** Something changed (a Docker event, a lifecycle event): push the difference soon. */
  notify(): void {
    // Nobody watching: nothing to push (the tick still samples; a new page gets a fresh snapshot).
    if (this.pending || this.clients.size === 0) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      void this.refresh();
    }, this.d.debounceMs ?? 100);
    this.pending.unref();
  }

  /** A page's event stream: the whole table now, then only changes. Returns the unsubscribe. */
  async subscribe(send: Send): Promise<() => void> {
    await this.refresh();
    send('snapshot', { rows: this.rows, now: this.d.now() });
    send('fleet', this.fleet());
    this.clients.add(send);
    return () => { this.clients.delete(send); };
  }

  get clientCount(): number {
    return this.clients.size;
  }

  async snapshot(): Promise<ConsoleRow[]> {
    await this.refresh();
    return this.rows;
  }

  /** Refreshes are serialised: two overlapping ones would diff against the same old keys. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(() => this.recompute()).catch((err) => {
      this.d.log.debug('console refresh failed', { error: errorMessage(err) });
    });
    return this.refreshing;
  }

  private async recompute(): Promise<void> {
    const views = await this.d.service.list();
    const recs = new Map(this.d.instances.list().map((r) => [r.name, r]));
    const rows: ConsoleRow[] = [];
    for (const v of views) {
      const rec = recs.get(v.name);
      if (!rec) continue;
      const startedAt = rec.containerId ? this.d.service.states.get(rec.containerId)?.startedAt : undefined;
      if (v.status !== 'running') this.runningSince.delete(v.name);
      else if (!this.runningSince.has(v.name)) this.runningSince.set(v.name, this.d.now());
      rows.push(toRow(v, rec, {
        defaultIdleSec: this.d.cfg.idleTimeoutSec, startedAt, runningSince: this.runningSince.get(v.name), wakes: this.wakeStats.get(v.name),
      }));
    }
    for (const name of this.runningSince.keys()) if (!recs.has(name)) this.runningSince.delete(name);
    const { changed, removed, keys } = diffRows(this.keys, rows);
    this.keys = keys;
    this.rows = rows;
    if (changed.length || removed.length) this.broadcast('rows', { changed, removed, now: this.d.now() });
    const live = { starts: this.d.startsInFlight(), wakes: this.recentWakes.length };
    if (live.starts !== this.fleetSent.starts || live.wakes !== this.fleetSent.wakes) this.broadcast('fleet', this.fleet());
  }

  private onEvent(ev: LifecycleEvent): void {
    if (ev.kind === 'wake') {
      const t = wakeTiming(ev);
      const s = this.wakeStats.get(ev.instance) ?? { count: 0, lastMs: null };
      this.wakeStats.set(ev.instance, { count: s.count + 1, lastMs: t.total });
      this.recentWakes.push(t);
      if (this.recentWakes.length > RECENT_WAKES) this.recentWakes.shift();
      this.fleetSent.wakes = -1;
    }
    this.broadcast('event', { instance: ev.instance, event: { id: ev.id, at: ev.at, kind: ev.kind, reason: ev.reason, detail: ev.detail } });
    this.notify();
  }

  private broadcast(event: string, data: unknown): void {
    for (const c of this.clients) c(event, data);
  }

  private async tick(): Promise<void> {
    await this.refresh();
    const t = this.d.now();
    const counts: Record<string, number> = {};
    for (const r of this.rows) counts[r.state] = (counts[r.state] ?? 0) + 1;
    push(this.stateHistory, [t, counts], STATE_HISTORY);
    if (this.clients.size > 0) await this.sampleRequests(t);
    this.broadcast('fleet', this.fleet());
  }

  /** Requests per tick and instance, from the deltas of Traefik's per-service counters. */
  private async sampleRequests(t: number): Promise<void> {
    if (!this.d.traefik) return;
    let totals: Map<string, number>;
    try {
      totals = parseServiceActivity(await this.d.traefik.metrics()).requests;
    } catch (err) {
      this.d.log.debug('console: traefik metrics unavailable', { error: errorMessage(err) });
      return;
    }
    const prev = this.lastRequestTotals;
    this.lastRequestTotals = totals;
    if (!prev) return;
    for (const r of this.rows) {
      const now = totals.get(r.name) ?? 0;
      // A service's series vanishes when its instance stops and restarts from 0: count from there.
      const delta = now >= (prev.get(r.name) ?? 0) ? now - (prev.get(r.name) ?? 0) : now;
      const series = this.requestHistory.get(r.name) ?? [];
      push(series, [t, delta], REQUEST_HISTORY);
      this.requestHistory.set(r.name, series);
    }
    for (const name of this.requestHistory.keys()) if (!this.keys.has(name)) this.requestHistory.delete(name);
  }

  fleet(): FleetView {
    this.fleetSent = { starts: this.d.startsInFlight(), wakes: this.recentWakes.length };
    const wakePercentiles: FleetView['wakePercentiles'] = {};
    for (const phase of [...PHASES, 'total'] as const) {
      const v = this.recentWakes.map((w) => w[phase]);
      wakePercentiles[phase] = { p50: percentile(v, 50), p90: percentile(v, 90), p99: percentile(v, 99), n: v.length };
    }
    return {
      states: this.stateHistory, wakePercentiles,
      startsInFlight: this.d.startsInFlight(), maxConcurrentStarts: this.d.cfg.maxConcurrentStarts,
    };
  }

  /** The instance page; null when there is no such instance. */
  async detail(name: string): Promise<InstanceDetail | null> {
    await this.refresh();
    const row = this.rows.find((r) => r.name === name);
    if (!row) return null;
    const events = this.d.events.list({ instance: name, limit: 200 });
    return {
      row,
      events: events.map(({ id, at, kind, reason, detail }) => ({ id, at, kind, reason, detail })).reverse(),
      wakes: events.filter((e) => e.kind === 'wake').slice(-20).map(wakeTiming),
      requests: this.requestHistory.get(name) ?? [],
    };
  }
}

function push<T>(arr: T[], v: T, max: number): void {
  arr.push(v);
  if (arr.length > max) arr.splice(0, arr.length - max);
}
