import { describe, expect, it } from 'vitest';
import { duration, statusText } from './cli-status.js';

describe('spawner status output', () => {
  it('prints uptime, requests by class, last request and wakes with their durations', () => {
    const text = statusText({
      name: 'minion-1', status: 'running', health: 'healthy',
      stats: {
        asOf: '2026-01-01T00:01:15.000Z', requests: 7, responses: { '1xx': 0, '2xx': 4, '3xx': 0, '4xx': 3, '5xx': 0, other: 0 }, lastRequestAt: '2026-01-01T00:01:00.000Z',
        startedAt: '2026-01-01T00:00:00.000Z', uptimeSec: 75,
        wakes: { count: 2, failed: 1, lastAt: '2026-01-01T00:00:01.000Z', lastMs: 812.4, medianMs: 700 },
      },
    });
    expect(text.split('\n')).toEqual([
      'name:         minion-1',
      'status:       running (healthy)',
      'uptime:       1m 15s (since 2026-01-01T00:00:00.000Z)',
      'requests:     7 (2xx 4, 3xx 0, 4xx 3, 5xx 0)',
      'last request: 2026-01-01T00:01:00.000Z (counted until 2026-01-01T00:01:15.000Z)',
      'wakes:        2 (1 failed), last 812 ms at 2026-01-01T00:00:01.000Z, median 700 ms',
    ]);
  });

  it('a stopped instance without figures prints dashes, not undefined', () => {
    const text = statusText({ name: 'a', status: 'exited', health: 'none', stats: { requests: 0, responses: {}, lastRequestAt: null, startedAt: null, uptimeSec: null, wakes: { count: 0, failed: 0, lastAt: null, lastMs: null, medianMs: null } } });
    expect(text).toContain('uptime:       -');
    expect(text).toContain('wakes:        0, last -, median -');
    expect(text).not.toContain('undefined');
  });

  it.each([[0, '0s'], [59, '59s'], [61, '1m 1s'], [3600, '1h 0m'], [90_061, '1d 1h']])('duration(%i) = %s', (sec, s) => {
    expect(duration(sec)).toBe(s);
  });
});
