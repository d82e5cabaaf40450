import { describe, expect, it } from 'vitest';
import { SpawnerError } from '../errors.js';
import { LoginRateLimiter } from './rate-limit.js';

function setup(opts: ConstructorParameters<typeof LoginRateLimiter>[0] = {}) {
  const clock = { t: 1_000_000 };
  const limiter = new LoginRateLimiter({ now: () => clock.t, ...opts });
  const tick = (sec: number) => {
    clock.t += sec * 1000;
  };
  /** A failed attempt; returns retryAfter if it was refused. */
  const attempt = (user: string, ip: string): number | undefined => {
    try {
      limiter.begin(user, ip);
      return undefined;
    } catch (e) {
      expect(e).toBeInstanceOf(SpawnerError);
      expect(e).toMatchObject({ code: 'rate_limited', status: 429 });
      return (e as SpawnerError).retryAfter;
    }
  };
  return { limiter, tick, attempt };
}

describe('LoginRateLimiter', () => {
  it('allows N failures, then blocks with doubling backoff up to the cap', () => {
    const { tick, attempt } = setup({ user: { baseBackoffSec: 5, maxBackoffSec: 60 } });
    for (let i = 0; i < 4; i++) expect(attempt('alice', `10.0.0.${i}`)).toBeUndefined();
    // The 5th failure is allowed but starts a block.
    expect(attempt('alice', '10.0.1.1')).toBeUndefined();
    expect(attempt('alice', '10.0.1.2')).toBe(5);
    tick(4);
    expect(attempt('alice', '10.0.1.3')).toBe(1);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      tick(waits.at(-1) ?? 5);
      expect(attempt('alice', '10.0.2.1')).toBeUndefined();
      waits.push(attempt('alice', '10.0.2.1')!);
    }
    expect(waits).toEqual([10, 20, 40, 60, 60, 60]);
  });

  it('limits per IP separately, across many usernames', () => {
    const { attempt } = setup({ ip: { maxFailures: 3 } });
    for (const u of ['a', 'b', 'c']) expect(attempt(u, '1.2.3.4')).toBeUndefined();
    expect(attempt('d', '1.2.3.4')).toBeGreaterThan(0);
    expect(attempt('d', '5.6.7.8')).toBeUndefined();
  });

  it('success resets the user counter but only refunds the IP attempt', () => {
    const { limiter, attempt } = setup({ ip: { maxFailures: 6 } });
    for (let i = 0; i < 4; i++) attempt('alice', '1.1.1.1');
    limiter.begin('alice', '1.1.1.1');
    limiter.succeed('alice', '1.1.1.1');
    // alice starts from zero: 4 more failures would not block her...
    for (let i = 0; i < 2; i++) expect(attempt('alice', '2.2.2.2')).toBeUndefined();
    // ...but the IP keeps its 4 failures: 2 more reach its limit of 6.
    attempt('bob', '1.1.1.1');
    attempt('bob', '1.1.1.1');
    expect(attempt('carol', '1.1.1.1')).toBeGreaterThan(0);
  });

  it('counts parallel attempts before their outcome is known', () => {
    const { limiter } = setup();
    for (let i = 0; i < 5; i++) limiter.begin('alice', `9.9.9.${i}`);
    expect(() => limiter.begin('alice', '9.9.9.9')).toThrow(SpawnerError);
  });

  it('forgets failures after a quiet window, measured from the end of the block', () => {
    const { tick, attempt } = setup({ user: { windowSec: 60, baseBackoffSec: 100 } });
    for (let i = 0; i < 5; i++) attempt('alice', '');
    tick(100); // block over, but still within the window after it: failures remain
    expect(attempt('alice', '')).toBeUndefined();
    expect(attempt('alice', '')).toBe(200);
    tick(200 + 61);
    for (let i = 0; i < 4; i++) expect(attempt('alice', '')).toBeUndefined();
  });

  it('an empty client IP is not limited by IP', () => {
    const { limiter, attempt } = setup({ ip: { maxFailures: 1 } });
    for (let i = 0; i < 3; i++) expect(attempt(`u${i}`, '')).toBeUndefined();
    expect(limiter.sizes().ips).toBe(0);
  });

  it('keeps memory bounded', () => {
    const { limiter, tick, attempt } = setup({
      user: { maxEntries: 100, windowSec: 10 },
      ip: { maxEntries: 50, windowSec: 10 },
    });
    for (let i = 0; i < 1000; i++) attempt(`user${i}`, `10.0.${i >> 8}.${i & 255}`);
    expect(limiter.sizes()).toEqual({ users: 100, ips: 50 });
    tick(30); // everything is stale now; the next touch sweeps
    attempt('fresh', '1.1.1.1');
    expect(limiter.sizes()).toEqual({ users: 1, ips: 1 });
  });
});
