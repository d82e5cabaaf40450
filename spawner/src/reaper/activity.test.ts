import { describe, expect, it } from 'vitest';
import { ActivityTracker, MIN_TX_BYTES, type ActivitySample, type TrafficReading } from './activity.js';

const S = '2026-01-01T00:00:00Z';
function sample(
  instances: string[],
  requests: Record<string, number> = {},
  extra: { open?: Record<string, number>; traffic?: Record<string, TrafficReading | null> } = {},
): ActivitySample {
  return {
    instances,
    requests: new Map(Object.entries(requests)),
    openConnections: new Map(Object.entries(extra.open ?? {})),
    traffic: extra.traffic ? new Map(Object.entries(extra.traffic)) : undefined,
  };
}
const active = (t: ActivityTracker, s: ActivitySample, now = 0) => [...t.observe(s, now).active].sort();

describe('ActivityTracker', () => {
  it('first reading is a baseline only; a counter that grows is activity, one that stays is not', () => {
    const t = new ActivityTracker();
    expect(active(t, sample(['a', 'b'], { a: 5, b: 1 }))).toEqual([]);
    expect(active(t, sample(['a', 'b'], { a: 6, b: 1 }))).toEqual(['a']);
    expect(active(t, sample(['a', 'b'], { a: 6, b: 1 }))).toEqual([]);
  });

  it('a series that appears (no requests before) counts; a reset counts only when requests followed it', () => {
    const t = new ActivityTracker();
    active(t, sample(['a', 'b'], { b: 10 }));
    expect(active(t, sample(['a', 'b'], { a: 1, b: 10 }))).toEqual(['a']);
    expect(active(t, sample(['a', 'b'], { a: 1 }))).toEqual([]); // b's series dropped: reset to 0
    expect(active(t, sample(['a', 'b'], { a: 1, b: 2 }))).toEqual(['b']);
    expect(active(t, sample(['a', 'b'], { a: 0, b: 2 }))).toEqual([]); // Traefik restarted, nothing since
  });

  it('open connections are activity on every reading, even the first', () => {
    const t = new ActivityTracker();
    expect(active(t, sample(['a'], {}, { open: { a: 1 } }))).toEqual(['a']);
    expect(active(t, sample(['a'], {}, { open: { a: 1 } }))).toEqual(['a']);
    expect(active(t, sample(['a'], {}, { open: { a: 0 } }))).toEqual([]);
  });

  it('bytes sent by the container since the last reading are activity; a restarted container starts afresh', () => {
    const t = new ActivityTracker();
    const tr = (txBytes: number, startedAt = S) => ({ traffic: { a: { startedAt, txBytes } } });
    expect(active(t, sample(['a'], {}, tr(1000)))).toEqual([]);
    expect(active(t, sample(['a'], {}, tr(1133)))).toEqual(['a']);
    expect(active(t, sample(['a'], {}, tr(1133)))).toEqual([]);
    expect(active(t, sample(['a'], {}, tr(1500, '2026-01-01T00:01:00Z')))).toEqual([]);
    expect(active(t, sample(['a'], {}, tr(1600, '2026-01-01T00:01:00Z')))).toEqual(['a']);
  });

  it('a few bytes of network housekeeping (ARP probe, TCP keepalive ACK) are not use, and do not add up', () => {
    const t = new ActivityTracker();
    const tr = (txBytes: number) => ({ traffic: { a: { startedAt: S, txBytes } } });
    active(t, sample(['a'], {}, tr(1000)));
    expect(active(t, sample(['a'], {}, tr(1042)))).toEqual([]); // ARP probe
    expect(active(t, sample(['a'], {}, tr(1108)))).toEqual([]); // keepalive ACK
    expect(active(t, sample(['a'], {}, tr(1108 + MIN_TX_BYTES)))).toEqual(['a']);
  });

  it('an unreadable traffic counter makes the instance unknown (never stopped), not idle', () => {
    const t = new ActivityTracker();
    const obs = t.observe(sample(['a', 'b'], {}, { traffic: { a: null, b: { startedAt: S, txBytes: 1 } } }), 0);
    expect([...obs.unknown]).toEqual(['a']);
    // A runtime that cannot read traffic at all (undefined) is not "unknown".
    expect(t.observe(sample(['a']), 0).unknown.size).toBe(0);
  });

  it('a partial sample leaves other baselines alone', () => {
    const t = new ActivityTracker();
    active(t, sample(['a', 'b'], { a: 1, b: 1 }));
    expect(active(t, sample(['a'], { a: 1, b: 9 }))).toEqual([]);
    expect(active(t, sample(['a', 'b'], { a: 1, b: 9 }))).toEqual(['b']);
  });

  it('remembers since when an instance is watched, and forgets what is no longer watched', () => {
    const t = new ActivityTracker();
    t.observe(sample(['a'], { a: 3 }), 1000);
    t.observe(sample(['a', 'b'], { a: 3 }), 2000);
    expect([t.watchedSince('a'), t.watchedSince('b')]).toEqual([1000, 2000]);
    t.retain(['b']);
    expect(t.watchedSince('a')).toBeUndefined();
    // Watched again: a fresh baseline, no activity claimed for the old counter value.
    expect(active(t, sample(['a', 'b'], { a: 9 }), 3000)).toEqual([]);
    expect(t.watchedSince('a')).toBe(3000);
  });
});
