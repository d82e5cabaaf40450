/**
 * Last known engine state of our containers, kept from the event stream and from every full
 * rescan, so `GET /deploy` at 1,000 instances reads memory instead of listing (and parsing) every
 * container on each call. A rescan replaces it whole, so a missed event is repaired within
 * `rescanSec`; single-instance reads (`GET /deploy/:name`) still inspect and refresh it.
 */
import type { ContainerInfo, ContainerState, HealthState, RuntimeEvent } from '../runtime/types.js';

export interface KnownState {
  state: ContainerState;
  health: HealthState;
}

export class ContainerStates {
  private readonly byId = new Map<string, KnownState>();
  private primed = false;

  /** False until the first full rescan: callers must ask the engine themselves. */
  get ready(): boolean {
    return this.primed;
  }

  /**
   * The event stream broke: events may be missed from now on, so the cache is not trusted until
   * the rescan after the reconnection replaces it (meanwhile callers ask the engine, and get a
   * clear 503 while it is away instead of stale states).
   */
  invalidate(): void {
    this.primed = false;
  }

  replaceAll(infos: ContainerInfo[]): void {
    this.byId.clear();
    for (const i of infos) this.byId.set(i.id, { state: i.state, health: i.state === 'running' ? i.health : 'none' });
    this.primed = true;
  }

  set(info: ContainerInfo): void {
    this.byId.set(info.id, { state: info.state, health: info.state === 'running' ? info.health : 'none' });
  }

  get(id: string): KnownState | undefined {
    return this.byId.get(id);
  }

  apply(ev: RuntimeEvent): void {
    const cur = this.byId.get(ev.id);
    switch (ev.kind) {
      case 'create':
        this.byId.set(ev.id, { state: 'created', health: 'none' });
        break;
      case 'start':
        this.byId.set(ev.id, { state: 'running', health: 'none' });
        break;
      case 'die':
      case 'stop':
        this.byId.set(ev.id, { state: 'exited', health: 'none' });
        break;
      case 'destroy':
        this.byId.delete(ev.id);
        break;
      case 'health':
        if (cur?.state === 'running' && ev.health) cur.health = ev.health;
        break;
    }
  }
}
