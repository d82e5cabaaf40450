/**
 * One lock per instance name: deploy, start, stop, remove and the body of a wake for the same
 * instance run one at a time, so a wake that arrives during an idle stop waits for the stop and
 * then starts the container again instead of failing.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => { release = r; });
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /**
   * Runs fn only when nothing holds or waits for key; otherwise undefined, at once. For background
   * passes that come again (a rescan): they never wait behind, or slip in under, an operation.
   */
  tryRun<T>(key: string, fn: () => Promise<T>): Promise<T> | undefined {
    return this.isLocked(key) ? undefined : this.run(key, fn);
  }

  isLocked(key: string): boolean {
    return this.tails.has(key);
  }
}

/** KeyedLock that also knows when nothing holds or waits for any key (shutdown drains it). */
export class DrainableLock extends KeyedLock {
  private active = 0;
  private waiters: (() => void)[] = [];

  override async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    this.active++;
    try {
      return await super.run(key, fn);
    } finally {
      if (--this.active === 0) for (const w of this.waiters.splice(0)) w();
    }
  }

  idle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((r) => { this.waiters.push(r); });
  }
}
