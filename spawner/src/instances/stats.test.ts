import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../config.js';
import type { RequestSeries } from '../reaper/prometheus.js';
import { openDatabase, type Database } from '../store/db.js';
import { EventLog } from '../store/events.js';
import { InstanceStore } from '../store/instances.js';
import { StatsStore } from '../store/stats.js';
import { WakeHistory } from '../store/wake-history.js';
import { InstanceStats, median, runningSince } from './stats.js';
import type { InstanceRecord } from './types.js';

const dbs: Database[] = [];
afterEach(() => { for (const db of dbs.splice(0)) db.close(); });

const T0 = Date.parse('2026-01-01T00:00:00Z');

function record(name: string, createdAt = T0): InstanceRecord {
  return {
    name, containerId: `c-${name}`, image: 'mock-app:latest', network: 'spawner', port: 9000, routing: 'cookie', public: false,
    secretHash: null, healthCheck: null, idleTimeoutSec: null, labels: {}, createdAt, lastWakeAt: null, lastActivityAt: null,
  };
}

function harness(cfg: Pick<Config, 'statusMetricsInstances'> = { statusMetricsInstances: 100 }, db = openDatabase(':memory:')) {
  if (!dbs.includes(db)) dbs.push(db);
  const instances = new InstanceStore(db);
  const events = new EventLog(db);
  let clock = T0 + 60_000;
  const make = () => new InstanceStats({ cfg, store: new StatsStore(db), wakes: new WakeHistory(db), instances, events, now: () => clock });
  const stats = make();
  const at = (t: number) => { clock = t; };
  const wake = (name: string, total: number, started = true) =>
    events.append({ instance: name, kind: 'wake', detail: { started, start: 1, health: 2, route: 3, probe: 4, total } }, clock);
  return { db, instances, events, stats, make, at, wake, cfg };
}

const s = (instance: string, code: string, value: number): RequestSeries =>
  ({ instance, key: `spawner-i-${instance}@docker ${code} GET http`, code, value });

describe('InstanceStats: requests served, from the reaper\'s scrapes', () => {
  it('counts by status class, dates the last request at the scrape that saw it, ignores names we do not have', () => {
    const h = harness();
    h.instances.insert(record('a'));
    h.stats.observe({ series: [s('a', '200', 3), s('a', '404', 1), s('ghost', '200', 9)] }, T0 + 1000);
    h.stats.observe({ series: [s('a', '200', 3), s('a', '404', 1)] }, T0 + 2000); // nothing new
    const st = h.stats.status(record('a'), undefined);
    expect(st.requests).toBe(4);
    expect(st.responses).toEqual({ '1xx': 0, '2xx': 3, '3xx': 0, '4xx': 1, '5xx': 0, other: 0 });
    expect(st.lastRequestAt).toBe(new Date(T0 + 1000).toISOString());
    expect(st.asOf).toBe(new Date(T0 + 2000).toISOString()); // the figures are as of the last scrape
    expect(h.stats.render()).toContain(`spawner_instance_status_updated_timestamp_seconds ${(T0 + 2000) / 1000}`);
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM instance_stats').get()).toEqual({ n: 1 });
  });

  it('a reading that arrives after a newer one (concurrent scrapes) is dropped, not taken for a counter reset', () => {
    const h = harness();
    h.instances.insert(record('a'));
    h.stats.observe({ series: [s('a', '200', 9)], seq: 2 }, T0 + 1000);
    h.stats.observe({ series: [s('a', '200', 7)], seq: 1 }, T0 + 1000); // started first, answered last
    h.stats.observe({ series: [s('a', '200', 10)], seq: 3 }, T0 + 2000);
    expect(h.stats.status(record('a'), undefined).responses['2xx']).toBe(10);
  });

  it('a spawner restart continues the count from the saved baselines: nothing lost, nothing counted twice', () => {
    const h = harness();
    h.instances.insert(record('a'));
    h.stats.observe({ series: [s('a', '200', 5)], traefikStartedAt: 100 }, T0 + 1000);
    h.stats.close();
    const again = h.make(); // a new process on the same database
    again.observe({ series: [s('a', '200', 8)], traefikStartedAt: 100 }, T0 + 2000);
    expect(again.status(record('a'), undefined).responses['2xx']).toBe(8);
  });

  it('a Traefik restart while the spawner was down (new start time) is not mistaken for old requests', () => {
    const h = harness();
    h.instances.insert(record('a'));
    h.stats.observe({ series: [s('a', '200', 5)], traefikStartedAt: 100 }, T0 + 1000);
    const again = h.make();
    again.observe({ series: [s('a', '200', 7)], traefikStartedAt: 200 }, T0 + 2000);
    expect(again.status(record('a'), undefined).responses['2xx']).toBe(12);
  });

  it('a redeploy of the name (deployed event) or a delete (removed) starts its figures from nothing', () => {
    const h = harness();
    h.instances.insert(record('a'));
    h.stats.observe({ series: [s('a', '200', 5)] }, T0 + 1000);
    h.events.append({ instance: 'a', kind: 'removed', reason: 'deleted' }, T0 + 1500);
    h.instances.delete('a');
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM instance_stats').get()).toEqual({ n: 0 }); // ON DELETE CASCADE
    h.instances.insert(record('a', T0 + 1600));
    h.events.append({ instance: 'a', kind: 'deployed' }, T0 + 1600);
    h.stats.observe({ series: [s('a', '200', 2)] }, T0 + 2000);
    expect(h.stats.status(record('a', T0 + 1600), undefined).requests).toBe(2);
  });

  it('uptime since the running container\'s start; none when it is not running', () => {
    const h = harness();
    h.at(T0 + 90_000);
    expect(h.stats.status(record('a'), new Date(T0 + 30_000).toISOString()).uptimeSec).toBe(60);
    expect(h.stats.status(record('a'), new Date(T0 + 30_000).toISOString()).startedAt).toBe(new Date(T0 + 30_000).toISOString());
    expect(h.stats.status(record('a'), undefined)).toMatchObject({ uptimeSec: null, startedAt: null });
  });
});

describe('InstanceStats: wakes and their durations, from the wake records', () => {
  it('counts the wakes that started the container, with the last and median duration, and the failed ones', () => {
    const h = harness();
    h.instances.insert(record('a'));
    for (const ms of [900, 300, 500]) h.wake('a', ms);
    h.wake('a', 5, false); // found it running (e.g. ?wait=true after a deploy): not a wake of the container
    h.events.append({ instance: 'a', kind: 'wake_failed', reason: 'x', detail: { stopped: true, started: true, total: 30_000 } }, T0 + 60_000);
    h.at(T0 + 61_000);
    h.wake('a', 700);
    const w = h.stats.status(record('a'), undefined).wakes;
    expect(w).toEqual({ count: 4, failed: 1, lastAt: new Date(T0 + 61_000).toISOString(), lastMs: 700, medianMs: 600 });
  });

  it('an instance created after older wakes of its name does not inherit them', () => {
    const h = harness();
    h.wake('a', 100);
    h.at(T0 + 120_000);
    expect(h.stats.status(record('a', T0 + 100_000), undefined).wakes).toMatchObject({ count: 0, lastMs: null, medianMs: null });
  });

  it('/metrics: wakes count from the records at start and from each new one, with the last duration', () => {
    const db = openDatabase(':memory:');
    const first = harness(undefined, db);
    first.instances.insert(record('a'));
    first.wake('a', 250);
    const h = harness(undefined, db); // restart: counts from the records
    h.wake('a', 420);
    const text = h.stats.render();
    expect(text).toContain('spawner_instance_wakes_total{instance="a"} 2');
    expect(text).toContain('spawner_instance_last_wake_seconds{instance="a"} 0.42');
  });
});

describe('median and runningSince', () => {
  it('median of odd and even counts, none for none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it('runningSince reads only running containers with a known start', () => {
    const h = harness();
    h.instances.insert(record('a'));
    h.instances.insert(record('b'));
    const states = new Map([['c-a', { state: 'running', startedAt: '2026-01-01T00:00:10Z' }], ['c-b', { state: 'exited' }]]);
    expect(runningSince(h.instances, { get: (id: string) => states.get(id) as never })).toEqual(new Map([['a', T0 + 10_000]]));
  });
});
