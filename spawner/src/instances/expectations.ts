/**
 * The engine events the spawner's own calls cause, by container id, so that reconciliation does
 * not log them as changes made outside. Kept by kind: a start of ours excuses a `start`, never a
 * removal. An event stream built from listings (Swarm's) can skip a state: a service made,
 * started and removed between two listings shows only its removal; excused by a start that was
 * never seen, that removal would be lost.
 */
export type EventKind = 'start' | 'die' | 'destroy';
export type OwnCall = 'start' | 'stop' | 'remove';

/** What each call makes the engine report (a removal of a running container: die, then destroy). */
const CAUSES: Record<OwnCall, readonly EventKind[]> = { start: ['start'], stop: ['die'], remove: ['die', 'destroy'] };

export class Expectations {
  private readonly byId = new Map<string, Set<EventKind>>();

  /** The events `call` on `id` will cause; replaces what an earlier call left unseen. */
  add(id: string, call: OwnCall): void {
    this.byId.set(id, new Set(CAUSES[call]));
  }

  /** A call that failed causes nothing. */
  forget(id: string): void {
    this.byId.delete(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * Whether the spawner caused this event of `id` (then it is used up). A die also drops an
   * unseen start (that start happened before it) and a destroy ends every expectation of the id.
   */
  consume(id: string, kind: EventKind): boolean {
    const pending = this.byId.get(id);
    if (!pending) return false;
    const ours = pending.delete(kind);
    if (kind === 'die') pending.delete('start');
    if (kind === 'destroy' || pending.size === 0) this.byId.delete(id);
    return ours;
  }
}
