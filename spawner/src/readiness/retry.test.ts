import { afterEach, describe, expect, it, vi } from 'vitest';
import { retryUntil, sleep } from './retry.js';

afterEach(() => { vi.useRealTimers(); });

/** A sleep that records the requested delays and returns at once (no real time passes). */
function recordingSleep() {
  const delays: number[] = [];
  const fn = async (ms: number, signal: AbortSignal) => {
    signal.throwIfAborted();
    delays.push(ms);
  };
  return { delays, fn };
}

/** An attempt that says "not yet" n times, then returns value. */
function succeedAfter<T>(n: number, value: T) {
  let calls = 0;
  const attempt = async (): Promise<T | undefined> => (++calls > n ? value : undefined);
  return { attempt, calls: () => calls };
}

describe('retryUntil', () => {
  it('returns at once when the first attempt succeeds, without sleeping', async () => {
    const s = recordingSleep();
    await expect(retryUntil(async () => 7, { signal: new AbortController().signal, sleep: s.fn })).resolves.toBe(7);
    expect(s.delays).toEqual([]);
  });

  it('first retry ≤ 50 ms, then growing, then capped', async () => {
    const s = recordingSleep();
    const a = succeedAfter(10, 'ok');
    await expect(retryUntil(a.attempt, { signal: new AbortController().signal, sleep: s.fn })).resolves.toBe('ok');
    expect(a.calls()).toBe(11);
    expect(s.delays).toHaveLength(10);
    expect(s.delays[0]).toBeGreaterThan(0);
    expect(s.delays[0]).toBeLessThanOrEqual(50);
    for (let i = 1; i < s.delays.length; i++) expect(s.delays[i]).toBeGreaterThanOrEqual(s.delays[i - 1] ?? 0);
    expect(s.delays[1]).toBeGreaterThan(s.delays[0] ?? 0);
    const cap = Math.max(...s.delays);
    expect(cap).toBeLessThanOrEqual(250);
    expect(s.delays.slice(-3)).toEqual([cap, cap, cap]);
    expect(s.delays).toEqual([25, 50, 100, 200, 250, 250, 250, 250, 250, 250]);
  });

  it('honours firstMs and capMs', async () => {
    const s = recordingSleep();
    const a = succeedAfter(5, true);
    await retryUntil(a.attempt, { signal: new AbortController().signal, sleep: s.fn, firstMs: 10, capMs: 35 });
    expect(s.delays).toEqual([10, 20, 35, 35, 35]);
  });

  it('a throwing attempt counts as "not yet"', async () => {
    const s = recordingSleep();
    let n = 0;
    const attempt = async () => {
      if (++n < 3) throw new Error('connection refused');
      return 'up';
    };
    await expect(retryUntil(attempt, { signal: new AbortController().signal, sleep: s.fn })).resolves.toBe('up');
    expect(s.delays).toEqual([25, 50]);
  });

  it('a falsy but defined result (false, 0, null) counts as a result', async () => {
    const signal = new AbortController().signal;
    await expect(retryUntil(async () => false, { signal })).resolves.toBe(false);
    await expect(retryUntil(async () => 0, { signal })).resolves.toBe(0);
    await expect(retryUntil(async () => null, { signal })).resolves.toBeNull();
  });

  it('an already aborted signal throws before the first attempt', async () => {
    const ac = new AbortController();
    ac.abort(new Error('deadline'));
    const attempt = vi.fn(async () => 1);
    await expect(retryUntil(attempt, { signal: ac.signal })).rejects.toThrow('deadline');
    expect(attempt).not.toHaveBeenCalled();
  });

  it('aborting while waiting stops the loop with the abort reason', async () => {
    const ac = new AbortController();
    let calls = 0;
    const sleeper = async (_ms: number, signal: AbortSignal) => {
      if (calls >= 3) ac.abort(new Error('deadline'));
      signal.throwIfAborted();
    };
    const p = retryUntil(async () => { calls++; return undefined; }, { signal: ac.signal, sleep: sleeper });
    await expect(p).rejects.toThrow('deadline');
    expect(calls).toBe(3);
  });

  it('with the real sleep under fake timers: waits 25 ms before the second attempt', async () => {
    vi.useFakeTimers();
    const a = succeedAfter(1, 'ok');
    const p = retryUntil(a.attempt, { signal: new AbortController().signal });
    await vi.advanceTimersByTimeAsync(24);
    expect(a.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(p).resolves.toBe('ok');
    expect(a.calls()).toBe(2);
  });
});

describe('sleep', () => {
  it('resolves after the given time', async () => {
    vi.useFakeTimers();
    let done = false;
    const p = sleep(100).then(() => { done = true; });
    await vi.advanceTimersByTimeAsync(99);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
  });

  it('rejects at once on abort and clears its timer', async () => {
    vi.useFakeTimers();
    const ac = new AbortController();
    const p = sleep(10_000, ac.signal);
    expect(vi.getTimerCount()).toBe(1);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects without scheduling a timer when already aborted', async () => {
    vi.useFakeTimers();
    const ac = new AbortController();
    ac.abort(new Error('early'));
    await expect(sleep(10, ac.signal)).rejects.toThrow('early');
    expect(vi.getTimerCount()).toBe(0);
  });
});
