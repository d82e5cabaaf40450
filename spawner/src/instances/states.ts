/**
 * Last known engine state of our containers, kept from the event stream and from every full
 * rescan, so `GET /deploy` at 1,000 instances reads memory instead of listing (and parsing) every
 * container on each call. A rescan replaces it whole, so a missed event is repaired within
 * `rescanSec`; single-instance reads (`GET /deploy/:name`) still inspect and refresh it.
 *
 * Beside it, the rescan base: the state of each container as the event stream and the previous
 * full rescan saw it (never single inspects or the list() fallback). A rescan diffs the engine
 * against it to log what changed while no event told us (the stream was down). It must not move
 * on other reads: a GET /deploy after dockerd came back but before the stream did would otherwise
 * hide every stop of the outage, and a stale inspect written after a live `die` would make the
 * next rescan log that stop a second time.
 */
import type { ContainerInfo, ContainerState, HealthState, RuntimeEvent } from '../runtime/types.js';

export interface KnownState {
  state: ContainerState;
  health: HealthState;
  /** Docker's StartedAt of a running container, when a list or inspect said it (not after a bare start event). */
  startedAt?: string;
}

function known(i: ContainerInfo): KnownState {
  const running = i.state === 'running';
  return { state: i.state, health: running ? i.health : 'none', ...(running && i.startedAt ? { startedAt: i.startedAt } : {}) };
}

/** Taken by a rescan before it lists the engine (see ContainerStates.beginRescan). */
export interface RescanBase {
  /** False until a rescan ended once: there is no previous state to diff against. */
  readonly primed: boolean;
  /** State per container id as the events and the previous rescan last saw it. */
  readonly states: ReadonlyMap<string, ContainerState>;
  /** Event generation when taken (for changedSince). */
  readonly gen: number;
}

export class ContainerStates {
  private readonly byId = new Map<string, KnownState>();
  private primed = false;
  /** The rescan base (see the file comment). */
  private readonly seen = new Map<string, ContainerState>();
  private seenPrimed = false;
  /** Generation of the last event that touched each id (pruned once no rescan base needs it). */
  private readonly touchedAt = new Map<string, number>();
  /** Generation of the last event of any kind per id (see set); pruned by rescans. */
  private readonly lastEvent = new Map<string, number>();
  private gen = 0;

  /** False until the first full rescan: callers must ask the engine themselves. */
  get ready(): boolean {
    return this.primed;
  }

  /**
   * The event stream broke: events may be missed from now on, so the cache is not trusted until
   * the rescan after the reconnection replaces it (meanwhile callers ask the engine, and get a
   * clear 503 while it is away instead of stale states). Both maps are kept: they are still the
   * last known state, which that rescan diffs against.
   */
  invalidate(): void {
    this.primed = false;
  }

  replaceAll(infos: ContainerInfo[]): void {
    this.byId.clear();
    for (const i of infos) this.byId.set(i.id, known(i));
    this.primed = true;
  }

  /** Start of a full rescan, before it lists the engine: a copy of the rescan base. */
  beginRescan(): RescanBase {
    return { primed: this.seenPrimed, states: new Map(this.seen), gen: this.gen };
  }

  /** An event touched `id` after `base` was taken (the live path has seen and logged it). */
  changedSince(base: RescanBase, id: string): boolean {
    return (this.touchedAt.get(id) ?? 0) > base.gen;
  }

  /**
   * End of a full rescan: the display cache is replaced by `infos` (as replaceAll), and so is the
   * rescan base, except for ids an event touched since `base` (the event may be newer than the
   * list: showing the list's state would undo a stop until the next rescan, and keeping it in the
   * base would make the next rescan log that change again) and for the `deferred` ids, which keep
   * their `base` state so the next rescan looks at them again.
   */
  endRescan(base: RescanBase, infos: ContainerInfo[], deferred: Iterable<string> = []): void {
    // The display cache, too, keeps what an event said since the base: events arrive in order,
    // so for those ids it is at least as new as the list (a stop during the list stays a stop).
    const touched = new Map<string, KnownState | undefined>();
    for (const [id, gen] of this.touchedAt) if (gen > base.gen) touched.set(id, this.byId.get(id));
    this.replaceAll(infos);
    for (const [id, k] of touched) {
      if (k) this.byId.set(id, k);
      else this.byId.delete(id);
    }
    const next = new Map<string, ContainerState>();
    for (const i of infos) if (!this.changedSince(base, i.id)) next.set(i.id, i.state);
    for (const [id, gen] of this.touchedAt) {
      const st = this.seen.get(id);
      if (gen > base.gen && st !== undefined) next.set(id, st);
    }
    for (const id of deferred) {
      const st = base.states.get(id);
      if (st !== undefined && !this.changedSince(base, id)) next.set(id, st);
    }
    this.seen.clear();
    for (const [id, st] of next) this.seen.set(id, st);
    // Rescans are single-flight, and the next base is taken at a later generation.
    for (const [id, gen] of this.touchedAt) if (gen <= base.gen) this.touchedAt.delete(id);
    const listed = new Set(infos.map((i) => i.id));
    for (const [id, gen] of this.lastEvent) if (gen <= base.gen && !listed.has(id)) this.lastEvent.delete(id);
    this.seenPrimed = true;
  }

  /** The present moment, for set(): take it before the inspect whose answer set() will write. */
  mark(): number {
    return this.gen;
  }

  /**
   * A single inspect's answer. With `mark` (taken before the inspect), it is dropped when an event
   * for the container came after it: that event is newer (an inspect that answered `starting`
   * after the `healthy` event would otherwise show `starting` until the next rescan).
   */
  set(info: ContainerInfo, mark?: number): void {
    if (mark !== undefined && (this.lastEvent.get(info.id) ?? 0) > mark) return;
    this.byId.set(info.id, known(info));
  }

  /** One inspect, recorded with a mark taken before it (see set): the single way to refresh one. */
  async observe(inspect: () => Promise<ContainerInfo | null>): Promise<ContainerInfo | null> {
    const mark = this.mark();
    const info = await inspect();
    if (info) this.set(info, mark);
    return info;
  }

  get(id: string): KnownState | undefined {
    return this.byId.get(id);
  }

  apply(ev: RuntimeEvent): void {
    const cur = this.byId.get(ev.id);
    this.lastEvent.set(ev.id, ++this.gen);
    switch (ev.kind) {
      case 'create':
        this.byId.set(ev.id, { state: 'created', health: 'none' });
        this.saw(ev.id, 'created');
        break;
      case 'start':
        this.byId.set(ev.id, { state: 'running', health: 'none' });
        this.saw(ev.id, 'running');
        break;
      case 'die':
      case 'stop':
        this.byId.set(ev.id, { state: 'exited', health: 'none' });
        this.saw(ev.id, 'exited');
        break;
      case 'destroy':
        this.byId.delete(ev.id);
        this.saw(ev.id, undefined);
        break;
      case 'health':
        if (cur?.state === 'running' && ev.health) cur.health = ev.health;
        break;
    }
  }

  private saw(id: string, state: ContainerState | undefined): void {
    if (state === undefined) this.seen.delete(id);
    else this.seen.set(id, state);
    this.touchedAt.set(id, ++this.gen);
  }
}
