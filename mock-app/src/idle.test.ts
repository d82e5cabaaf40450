import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IdleTracker, realTimers } from './idle.js';

describe('IdleTracker', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('fires once after the window without use', () => {
    const onIdle = vi.fn();
    new IdleTracker(2_000, realTimers, onIdle);
    vi.advanceTimersByTime(1_999);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onIdle).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('pauses while busy and restarts the full window when the last use ends', () => {
    const onIdle = vi.fn();
    const t = new IdleTracker(2_000, realTimers, onIdle);
    vi.advanceTimersByTime(1_500);
    t.begin();
    t.begin();
    vi.advanceTimersByTime(60_000);
    expect(t.secondsLeft()).toBe(2);
    t.end();
    vi.advanceTimersByTime(60_000);
    expect(onIdle).not.toHaveBeenCalled();
    t.end();
    vi.advanceTimersByTime(500);
    expect(t.secondsLeft()).toBe(1.5);
    vi.advanceTimersByTime(1_500);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('never fires when disabled (0) and reports null', () => {
    const onIdle = vi.fn();
    const t = new IdleTracker(0, realTimers, onIdle);
    t.begin();
    t.end();
    vi.advanceTimersByTime(10 * 3_600_000);
    expect(onIdle).not.toHaveBeenCalled();
    expect(t.secondsLeft()).toBeNull();
  });

  it('stop() cancels the countdown for good', () => {
    const onIdle = vi.fn();
    const t = new IdleTracker(1_000, realTimers, onIdle);
    t.stop();
    t.begin();
    t.end();
    vi.advanceTimersByTime(5_000);
    expect(onIdle).not.toHaveBeenCalled();
  });
});
