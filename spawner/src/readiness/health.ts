/**
 * Waits for Docker's `health_status: healthy` from the event stream (not by polling inspect).
 * Subscribe first, inspect second: an event that lands between the two is not lost.
 */
import type { ContainerRuntime, RuntimeEvent } from '../runtime/types.js';
import { SpawnerError } from '../errors.js';

type Waiter = { resolve: () => void; reject: (e: Error) => void };

export class HealthWatcher {
  private readonly waiters = new Map<string, Set<Waiter>>();

  constructor(private readonly runtime: ContainerRuntime) {}

  /** Feed every runtime event here (the instances service owns the single event subscription). */
  onEvent(ev: RuntimeEvent): void {
    const set = this.waiters.get(ev.id);
    if (!set) return;
    if (ev.kind === 'health' && ev.health === 'healthy') {
      for (const w of set) w.resolve();
    } else if (ev.kind === 'die' || ev.kind === 'destroy') {
      for (const w of set) w.reject(new SpawnerError('wake_failed', `container exited while starting (${ev.kind})`));
    }
  }

  async waitHealthy(id: string, signal: AbortSignal): Promise<void> {
    let waiter!: Waiter;
    const done = new Promise<void>((resolve, reject) => { waiter = { resolve, reject }; });
    const set = this.waiters.get(id) ?? new Set<Waiter>();
    set.add(waiter);
    this.waiters.set(id, set);
    const onAbort = () => waiter.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const info = await this.runtime.inspect(id);
      if (!info) throw new SpawnerError('wake_failed', 'container disappeared while starting');
      if (info.health === 'healthy') return;
      if (info.state === 'exited' || info.state === 'dead') {
        throw new SpawnerError('wake_failed', `container ${info.state} while starting`);
      }
      await done;
    } finally {
      signal.removeEventListener('abort', onAbort);
      set.delete(waiter);
      if (set.size === 0) this.waiters.delete(id);
    }
  }
}
