import { describe, expect, it } from 'vitest';
import { idleTimeoutSec, idleVerdict, lastActivityAt } from './policy.js';

const rec = (over: Partial<{ idleTimeoutSec: number | null; lastActivityAt: number | null; lastWakeAt: number | null }> = {}) => ({
  idleTimeoutSec: null, lastActivityAt: null, lastWakeAt: null, ...over,
});
const iso = (ms: number) => new Date(ms).toISOString();

describe('idle policy', () => {
  it('per-instance timeout wins; null means the global default; 0 means never', () => {
    expect(idleTimeoutSec(rec({ idleTimeoutSec: 30 }), 600)).toBe(30);
    expect(idleTimeoutSec(rec(), 600)).toBe(600);
    expect(idleTimeoutSec(rec({ idleTimeoutSec: 0 }), 600)).toBe(0);
  });

  it('last activity is the latest of activity, wake, container start and watch start', () => {
    expect(lastActivityAt(rec({ lastActivityAt: 5_000, lastWakeAt: 3_000 }), iso(1_000), 2_000)).toBe(5_000);
    expect(lastActivityAt(rec({ lastActivityAt: 5_000, lastWakeAt: 7_000 }), iso(1_000), 2_000)).toBe(7_000);
    expect(lastActivityAt(rec(), iso(9_000), 2_000)).toBe(9_000);
    expect(lastActivityAt(rec(), iso(1_000), 2_000)).toBe(2_000);
    // Docker's "never started" and garbage are ignored.
    expect(lastActivityAt(rec(), '0001-01-01T00:00:00Z', undefined)).toBe(0);
    expect(lastActivityAt(rec(), 'garbage', 4)).toBe(4);
  });

  it('idle exactly when the timeout has fully passed; never with timeout 0', () => {
    const r = rec({ idleTimeoutSec: 10, lastActivityAt: 1_000 });
    expect(idleVerdict(r, undefined, undefined, 10_999, 0)).toEqual({ idle: false, idleForMs: 9_999, timeoutSec: 10 });
    expect(idleVerdict(r, undefined, undefined, 11_000, 0).idle).toBe(true);
    expect(idleVerdict(rec({ idleTimeoutSec: 0 }), undefined, undefined, 1e12, 5).idle).toBe(false);
    expect(idleVerdict(rec(), undefined, undefined, 1e12, 0).idle).toBe(false);
    expect(idleVerdict(rec(), undefined, undefined, 1e12, 5).idle).toBe(true);
  });
});
