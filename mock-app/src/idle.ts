/**
 * Idle shutdown bookkeeping. The app counts as in use while any request is in flight (an open
 * /events stream is just a very long request), and the idle countdown restarts when the last one
 * ends. Clock and timers are injected so tests drive them with vitest fake timers.
 */

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/**
 * The real clock. Globals are looked up at call time (not captured at import) so that
 * vi.useFakeTimers() installed after this module loads still takes effect.
 */
export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

export class IdleTracker {
  private busy = 0;
  private deadline = 0;
  private handle: unknown = undefined;
  private done = false;

  /** idleMs 0 disables idle shutdown entirely. onIdle fires at most once. */
  constructor(
    private readonly idleMs: number,
    private readonly timers: Timers,
    private readonly onIdle: () => void,
  ) {
    this.arm();
  }

  get enabled(): boolean {
    return this.idleMs > 0;
  }

  /** Requests currently in flight (open /events streams included). */
  get inUse(): number {
    return this.busy;
  }

  /** A request started: the app is in use until the matching end(). */
  begin(): void {
    this.busy++;
    this.disarm();
  }

  end(): void {
    this.busy = Math.max(0, this.busy - 1);
    if (this.busy === 0) this.arm();
  }

  /**
   * Seconds left before idle shutdown (millisecond precision), or null when disabled. While a
   * request is in flight the countdown is paused, so the full window is reported.
   */
  secondsLeft(): number | null {
    if (!this.enabled) return null;
    const ms = this.busy > 0 ? this.idleMs : Math.max(0, this.deadline - this.timers.now());
    return Math.round(ms) / 1000;
  }

  /** Stops the countdown for good (shutdown in progress). */
  stop(): void {
    this.done = true;
    this.disarm();
  }

  private arm(): void {
    if (!this.enabled || this.done) return;
    this.disarm();
    this.deadline = this.timers.now() + this.idleMs;
    this.handle = this.timers.setTimeout(() => {
      this.handle = undefined;
      this.done = true;
      this.onIdle();
    }, this.idleMs);
  }

  private disarm(): void {
    if (this.handle === undefined) return;
    this.timers.clearTimeout(this.handle);
    this.handle = undefined;
  }
}
