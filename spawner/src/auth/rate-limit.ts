/**
 * Login throttling with exponential backoff, tracked separately per username (guessing one
 * account from many IPs) and per client IP (spraying many accounts from one IP).
 *
 * `begin()` counts an attempt as a failure *before* the slow password check and `succeed()`
 * takes it back, so a burst of parallel guesses cannot all slip in before the first failure is
 * recorded.
 */
import { SpawnerError } from '../errors.js';

export interface BackoffPolicy {
  /** Failures within the window before attempts are refused. */
  maxFailures: number;
  /** A key with no failure (and no block) for this long starts from zero again. */
  windowSec: number;
  /** First block; doubles with each further failure. */
  baseBackoffSec: number;
  maxBackoffSec: number;
  /** Memory bound: the least recently touched keys are evicted beyond this. */
  maxEntries: number;
}

export const USER_POLICY: BackoffPolicy = {
  maxFailures: 5,
  windowSec: 900,
  baseBackoffSec: 5,
  maxBackoffSec: 900,
  maxEntries: 10_000,
};

/** Higher threshold: many users may share one IP (NAT, or a home app proxying logins). */
export const IP_POLICY: BackoffPolicy = { ...USER_POLICY, maxFailures: 20 };

export interface RateLimiterOptions {
  /** Milliseconds; injectable for tests. */
  now?: () => number;
  user?: Partial<BackoffPolicy>;
  ip?: Partial<BackoffPolicy>;
}

interface Entry {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

/** Failures per key with exponential backoff; also used on its own (GET /.spawner/self, per client). */
export class BackoffTable {
  private readonly entries = new Map<string, Entry>();
  private lastSweep = 0;

  constructor(private readonly policy: BackoffPolicy, private readonly now: () => number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Milliseconds until `key` may try again; 0 if not blocked. */
  blockedFor(key: string): number {
    const e = this.entries.get(key);
    return e ? Math.max(0, e.blockedUntil - this.now()) : 0;
  }

  fail(key: string): void {
    const now = this.now();
    let e = this.entries.get(key);
    if (!e || this.isStale(e, now)) e = { failures: 0, lastFailureAt: now, blockedUntil: 0 };
    e.failures++;
    e.lastFailureAt = now;
    const over = e.failures - this.policy.maxFailures;
    if (over >= 0) {
      const backoff = this.policy.baseBackoffSec * 2 ** Math.min(over, 30);
      e.blockedUntil = now + Math.min(backoff, this.policy.maxBackoffSec) * 1000;
    }
    this.entries.delete(key); // re-insert: Map order doubles as least-recently-used order
    this.entries.set(key, e);
    this.bound(now);
  }

  /** Takes back one provisional failure (the attempt turned out to be a success). */
  refund(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.failures = Math.max(0, e.failures - 1);
    if (e.failures < this.policy.maxFailures) e.blockedUntil = 0;
    if (e.failures === 0) this.entries.delete(key);
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  private isStale(e: Entry, now: number): boolean {
    // Measured from the end of the block, else a block longer than the window would reset the
    // count and hand out a fresh batch of free attempts.
    return now - Math.max(e.lastFailureAt, e.blockedUntil) > this.policy.windowSec * 1000;
  }

  private bound(now: number): void {
    // Stale entries are dropped once per window; beyond the cap the least recently touched go
    // first (they are the stalest anyway), so each call does bounded work.
    if (now - this.lastSweep > this.policy.windowSec * 1000) {
      this.lastSweep = now;
      for (const [k, e] of this.entries) if (this.isStale(e, now)) this.entries.delete(k);
    }
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.policy.maxEntries) break;
      this.entries.delete(k);
    }
  }
}

export class LoginRateLimiter {
  private readonly users: BackoffTable;
  private readonly ips: BackoffTable;

  constructor(opts: RateLimiterOptions = {}) {
    const now = opts.now ?? Date.now;
    this.users = new BackoffTable({ ...USER_POLICY, ...opts.user }, now);
    this.ips = new BackoffTable({ ...IP_POLICY, ...opts.ip }, now);
  }

  /**
   * Call before verifying a password. Throws SpawnerError('rate_limited') with retryAfter in
   * seconds if the username or the IP is blocked; otherwise records a provisional failure.
   */
  begin(username: string, clientIp: string): void {
    const ipWait = clientIp ? this.ips.blockedFor(clientIp) : 0;
    const waitMs = Math.max(this.users.blockedFor(username), ipWait);
    if (waitMs > 0) {
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      const msg = 'too many failed login attempts';
      throw new SpawnerError('rate_limited', msg, undefined, retryAfter);
    }
    this.users.fail(username);
    // An unknown client IP is not limited by IP: one shared bucket would lock everyone out.
    if (clientIp) this.ips.fail(clientIp);
  }

  /**
   * The attempt begun with begin() succeeded: the user's counter resets; the IP only gets its
   * provisional failure back, so an attacker cannot clear the IP's record by logging into an
   * account of their own between guesses.
   */
  succeed(username: string, clientIp: string): void {
    this.users.reset(username);
    if (clientIp) this.ips.refund(clientIp);
  }

  /** For tests and metrics. */
  sizes(): { users: number; ips: number } {
    return { users: this.users.size, ips: this.ips.size };
  }
}
