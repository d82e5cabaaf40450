import { describe, expect, it } from 'vitest';
import { parsePrometheus } from '../reaper/prometheus.js';
import { zeroCounts, type ClassCounts } from './request-counts.js';
import { CappedSeries, OTHER_INSTANCES, type SlottedFigures } from './stats-metrics.js';

const c = (n2xx: number, n4xx = 0): ClassCounts => ({ ...zeroCounts(), '2xx': n2xx, '4xx': n4xx });

/** A tiny model of the figures InstanceStats keeps: totals per instance. */
function model(cap: number) {
  const series = new CappedSeries(cap);
  const totals = new Map<string, SlottedFigures>();
  const add = (name: string, d: ClassCounts) => {
    const f = totals.get(name) ?? { counts: zeroCounts(), wakes: 0, lastRequestAt: null, lastWakeMs: null, startedAt: null };
    f.counts['2xx'] += d['2xx'];
    f.counts['4xx'] += d['4xx'];
    f.lastRequestAt = 5000;
    totals.set(name, f);
    series.record(name, { counts: d });
  };
  const scrape = () => parsePrometheus(series.render((n) => totals.get(n)));
  const value = (metric: string, labels: Record<string, string>) =>
    scrape().find((x) => x.name === metric && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;
  return { series, totals, add, scrape, value };
}

describe('CappedSeries: bounded label cardinality of the status series', () => {
  it('gives the first N instances with something to count their own series and sums the rest under _other', () => {
    const m = model(2);
    m.add('a', c(1));
    m.add('b', c(2, 1));
    m.add('c', c(4));
    m.add('d', c(8, 2));
    const instances = new Set(m.scrape().filter((x) => x.name === 'spawner_instance_requests_total').map((x) => x.labels.instance));
    expect(instances).toEqual(new Set(['a', 'b', OTHER_INSTANCES]));
    expect(m.value('spawner_instance_requests_total', { instance: 'b', class: '4xx' })).toBe(1);
    expect(m.value('spawner_instance_requests_total', { instance: OTHER_INSTANCES, class: '2xx' })).toBe(12);
    expect(m.value('spawner_instance_requests_total', { instance: OTHER_INSTANCES, class: '4xx' })).toBe(2);
    expect(m.value('spawner_instance_status_aggregated', {})).toBe(2);
  });

  it('the number of series does not grow with the fleet beyond the cap', () => {
    const small = model(3);
    const big = model(3);
    for (let i = 0; i < 5; i++) small.add(`i${i}`, c(1));
    for (let i = 0; i < 500; i++) big.add(`i${i}`, c(1));
    expect(big.scrape().length).toBe(small.scrape().length);
    expect(big.value('spawner_instance_requests_total', { instance: OTHER_INSTANCES, class: '2xx' })).toBe(497);
  });

  it('slots are sticky: a busier newcomer does not push an instance out of its series', () => {
    const m = model(1);
    m.add('quiet', c(1));
    m.add('busy', c(1000));
    expect(m.series.slotted()).toEqual(['quiet']);
    m.add('quiet', c(1));
    expect(m.value('spawner_instance_requests_total', { instance: 'quiet', class: '2xx' })).toBe(2);
  });

  it('_other never goes down: a deleted instance frees its slot, a newcomer takes it, _other keeps what it counted', () => {
    const m = model(1);
    m.add('a', c(5));
    m.add('b', c(3));
    const before = m.value('spawner_instance_requests_total', { instance: OTHER_INSTANCES, class: '2xx' });
    m.series.forget('a');
    m.totals.delete('a');
    m.add('b', c(1)); // b now gets the free slot: its series shows its whole total
    expect(m.series.slotted()).toEqual(['b']);
    expect(m.value('spawner_instance_requests_total', { instance: 'b', class: '2xx' })).toBe(4);
    expect(m.value('spawner_instance_requests_total', { instance: OTHER_INSTANCES, class: '2xx' })).toBe(before);
    expect(m.value('spawner_instance_status_aggregated', {})).toBe(0);
  });

  it('cap 0: everything is summed, no instance label value but _other', () => {
    const m = model(0);
    m.add('a', c(1));
    m.series.record('a', { wakes: 2 });
    const labels = new Set(m.scrape().map((x) => x.labels.instance).filter(Boolean));
    expect(labels).toEqual(new Set([OTHER_INSTANCES]));
    expect(m.value('spawner_instance_wakes_total', { instance: OTHER_INSTANCES })).toBe(2);
  });

  it('gauges in seconds for slotted instances: last request, last wake duration, container start', () => {
    const series = new CappedSeries(5);
    series.record('a', { wakes: 1 });
    const text = series.render(() => ({ counts: c(0), wakes: 1, lastRequestAt: 1_700_000_000_000, lastWakeMs: 420, startedAt: 1_699_999_000_000 }));
    expect(text).toContain('# TYPE spawner_instance_requests_total counter');
    expect(text).toContain('spawner_instance_wakes_total{instance="a"} 1');
    expect(text).toContain('spawner_instance_last_request_timestamp_seconds{instance="a"} 1700000000');
    expect(text).toContain('spawner_instance_last_wake_seconds{instance="a"} 0.42');
    expect(text).toContain('spawner_instance_started_timestamp_seconds{instance="a"} 1699999000');
  });
});
