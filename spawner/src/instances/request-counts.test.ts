import { describe, expect, it } from 'vitest';
import type { RequestSeries } from '../reaper/prometheus.js';
import { account, statusClass, total, zeroCounts, type Baselines, type ClassCounts } from './request-counts.js';

const s = (instance: string, code: string, value: number, method = 'GET'): RequestSeries =>
  ({ instance, key: `spawner-i-${instance}@docker ${code} ${method} http`, code, value });
const counts = (over: Partial<ClassCounts>): ClassCounts => ({ ...zeroCounts(), ...over });

/** Feeds scrapes one after another, as the reaper's rounds do, and adds up the deltas. */
function run(scrapes: { series: RequestSeries[]; traefikStartedAt?: number }[]): Map<string, ClassCounts> {
  let baselines: Baselines = new Map();
  let started: number | undefined;
  const totals = new Map<string, ClassCounts>();
  for (const scrape of scrapes) {
    const a = account(baselines, started, scrape);
    baselines = a.baselines;
    started = scrape.traefikStartedAt ?? started;
    for (const [name, d] of a.deltas) {
      const t = totals.get(name) ?? zeroCounts();
      for (const k of Object.keys(d) as (keyof ClassCounts)[]) t[k] += d[k];
      totals.set(name, t);
    }
  }
  return totals;
}

describe('statusClass', () => {
  it.each([
    ['101', '1xx'], ['200', '2xx'], ['204', '2xx'], ['301', '3xx'], ['307', '3xx'], ['404', '4xx'], ['499', '4xx'],
    ['500', '5xx'], ['502', '5xx'], ['0', 'other'], ['600', 'other'], ['20', 'other'], ['2000', 'other'], ['', 'other'], ['abc', 'other'],
  ])('%s -> %s', (code, cls) => {
    expect(statusClass(code)).toBe(cls);
  });
});

describe('account: requests by class from successive scrapes of Traefik counters', () => {
  it('a series seen for the first time counts its whole value (all of it was served since it appeared)', () => {
    expect(run([{ series: [s('a', '200', 5), s('a', '404', 2), s('b', '502', 1)] }])).toEqual(new Map([
      ['a', counts({ '2xx': 5, '4xx': 2 })], ['b', counts({ '5xx': 1 })],
    ]));
  });

  it('then only what grew; series of one class (methods, codes) add up', () => {
    const totals = run([
      { series: [s('a', '200', 5), s('a', '201', 1, 'POST')] },
      { series: [s('a', '200', 8), s('a', '201', 3, 'POST')] },
      { series: [s('a', '200', 8), s('a', '201', 3, 'POST')] },
    ]);
    expect(totals.get('a')).toEqual(counts({ '2xx': 11 }));
  });

  it('a counter that went down was reset (Traefik restarted): its new value is what it served since', () => {
    const totals = run([
      { series: [s('a', '200', 100), s('a', '404', 10)] },
      { series: [s('a', '200', 3)] }, // restart: 404 not seen since, 200 back at 3
      { series: [s('a', '200', 7), s('a', '404', 1)] },
    ]);
    expect(totals.get('a')).toEqual(counts({ '2xx': 107, '4xx': 11 }));
  });

  it('a series that vanished (instance stopped: Traefik dropped its service) counts from 0 when it is back', () => {
    const totals = run([
      { series: [s('a', '200', 4)] },
      { series: [] },
      { series: [s('a', '200', 6)] }, // 6 > 4, but all 6 are new: the service was re-created
    ]);
    expect(totals.get('a')).toEqual(counts({ '2xx': 10 }));
  });

  it('a changed Traefik start time voids every baseline, even of a counter already past its old value', () => {
    const totals = run([
      { series: [s('a', '200', 5)], traefikStartedAt: 1000 },
      { series: [s('a', '200', 9)], traefikStartedAt: 2000 }, // restarted and served 9 since
      { series: [s('a', '200', 10)], traefikStartedAt: 2000 },
    ]);
    expect(totals.get('a')).toEqual(counts({ '2xx': 15 }));
  });

  it('our totals never go down, whatever Traefik reports', () => {
    const readings = [5, 2, 2, 9, 0, 0, 4, 1, 30];
    let baselines: Baselines = new Map();
    let sum = 0;
    const seen: number[] = [];
    for (const v of readings) {
      const a = account(baselines, undefined, { series: v ? [s('a', '200', v)] : [] });
      baselines = a.baselines;
      sum += total(a.deltas.get('a') ?? zeroCounts());
      seen.push(sum);
    }
    expect(seen).toEqual([5, 7, 7, 14, 14, 14, 18, 19, 48]);
  });

  it('Traefik\'s float notation is rounded to whole requests; unknown codes count as other', () => {
    expect(run([{ series: [s('a', '200', 1e3), s('a', '0', 2)] }]).get('a')).toEqual(counts({ '2xx': 1000, other: 2 }));
  });

  it('the baselines for the next scrape are exactly the series of this one', () => {
    const a = account(new Map([['a', new Map([['old', 3]])]]), undefined, { series: [s('b', '200', 2)] });
    expect([...a.baselines.keys()]).toEqual(['b']);
    expect(a.traefikRestarted).toBe(false);
  });
});
