/**
 * The per-instance status series on the spawner's /metrics, with bounded label cardinality.
 *
 * Why a cap: every instance label value is a set of series that Prometheus keeps for as long as
 * its retention, and a fleet of thousands of (mostly sleeping) instances would make the spawner's
 * own scrape the biggest one in the installation. So at most `cap` instances
 * (SPAWNER_STATUS_METRICS_INSTANCES, default 100) get series of their own; every other instance
 * is summed into `instance="_other"` (`_` never occurs in an instance name, so it cannot collide).
 *
 * Which ones: an instance gets a slot the first time it has something to count (a request or a
 * wake), while a slot is free, and keeps it until it is deleted or redeployed (a slot then frees
 * for the next newcomer). Slots are sticky on purpose: a "top N by traffic" choice would move
 * instances in and out of `_other` from scrape to scrape, and both their series and `_other` would
 * jump. `_other` counts the increments of the instances it stands for at the time they happened
 * (not a sum of their totals), so it only ever goes up, also when one of them is deleted or gets
 * a slot; `rate()` and `sum(rate())` over all series stay right. A spawner restart starts
 * `_other` from 0, which Prometheus treats as the counter reset it is.
 */
import { renderFamily } from '../metrics.js';
import { STATUS_CLASSES, zeroCounts, type ClassCounts } from './request-counts.js';

export const OTHER_INSTANCES = '_other';

export interface SlottedFigures {
  counts: ClassCounts;
  wakes: number;
  lastRequestAt: number | null;
  lastWakeMs: number | null;
  /** Running container's start (ms since the epoch), when known. */
  startedAt: number | null;
}

export class CappedSeries {
  private readonly slots = new Set<string>();
  /** Instances that have counted into `_other` and have no slot now. */
  private readonly aggregated = new Set<string>();
  private readonly other = { counts: zeroCounts(), wakes: 0 };

  constructor(private readonly cap: number) {}

  /** An instance's figures went up by `delta`: it keeps or gets its own series, or `_other` takes the increment. */
  record(name: string, delta: { counts?: ClassCounts; wakes?: number }): void {
    if (this.slots.has(name)) return;
    if (this.slots.size < this.cap) {
      this.slots.add(name);
      this.aggregated.delete(name);
      return;
    }
    for (const c of STATUS_CLASSES) this.other.counts[c] += delta.counts?.[c] ?? 0;
    this.other.wakes += delta.wakes ?? 0;
    this.aggregated.add(name);
  }

  /** Deleted or redeployed: its series go, its slot is free. `_other` keeps what it counted. */
  forget(name: string): void {
    this.slots.delete(name);
    this.aggregated.delete(name);
  }

  hasSlot(name: string): boolean {
    return this.slots.has(name);
  }

  slotted(): string[] {
    return [...this.slots].sort();
  }

  render(figures: (name: string) => SlottedFigures | undefined): string {
    const rows: [string, SlottedFigures][] = [];
    for (const name of this.slotted()) {
      const f = figures(name);
      if (f) rows.push([name, f]);
    }
    const requests: [Record<string, string>, number][] = [];
    for (const [instance, f] of [...rows, [OTHER_INSTANCES, { counts: this.other.counts }] as const]) {
      for (const c of STATUS_CLASSES) requests.push([{ instance, class: c }, f.counts[c]]);
    }
    const gauge = (pick: (f: SlottedFigures) => number | null, scale = 1) =>
      rows.flatMap(([instance, f]) => { const v = pick(f); return v === null ? [] : [[{ instance }, v / scale] as [Record<string, string>, number]]; });
    return [
      renderFamily('spawner_instance_requests_total', 'Requests an instance served, by status class, counted from Traefik\'s per-service counters (monotonic across Traefik restarts); instance="_other" sums the instances beyond SPAWNER_STATUS_METRICS_INSTANCES', 'counter', requests),
      renderFamily('spawner_instance_wakes_total', 'Wakes that started the instance\'s container', 'counter',
        [...rows.map(([instance, f]) => [{ instance }, f.wakes] as [Record<string, string>, number]), [{ instance: OTHER_INSTANCES }, this.other.wakes]]),
      renderFamily('spawner_instance_last_request_timestamp_seconds', 'When the instance was last seen serving a request (dated at the scrape that saw it)', 'gauge', gauge((f) => f.lastRequestAt, 1000)),
      renderFamily('spawner_instance_last_wake_seconds', 'Duration of the instance\'s last wake', 'gauge', gauge((f) => f.lastWakeMs, 1000)),
      renderFamily('spawner_instance_started_timestamp_seconds', 'Start of the running container (uptime = time() - this)', 'gauge', gauge((f) => f.startedAt, 1000)),
      renderFamily('spawner_instance_status_aggregated', 'Instances counted under instance="_other" (no series of their own)', 'gauge', [[{}, this.aggregated.size]]),
    ].join('\n');
  }
}
