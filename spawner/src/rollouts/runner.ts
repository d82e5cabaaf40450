/**
 * Runs rollouts: pull once, then wave after wave (canary first), each wave's instances in
 * parallel through the same redeploy gate and switch as a single redeploy. Every step is written
 * to the store before the next begins, so a restart (resumeAll) continues from the last step; an
 * upgrade cut short by the restart is settled from the instance's revision.
 */
import { SpawnerError } from '../errors.js';
import { errorMessage, type Logger } from '../log.js';
import { globMatch } from '../api/glob.js';
import { imageForMatching } from '../api/image.js';
import type { RolloutStore } from '../store/rollouts.js';
import { assignWaves, isOpen, overBudget, waves } from './plan.js';
import { FINAL_ROLLOUT, type RolloutItem, type RolloutRecord, type RolloutSpec, type Upgrader } from './types.js';

export interface RunnerDeps {
  store: RolloutStore;
  upgrader: Upgrader;
  log: Logger;
  now: () => number;
  /** Injected so unit tests skip the delay between waves. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

export class RolloutRunner {
  /** Rollout id → its loop, so one rollout never runs twice at once. */
  private readonly loops = new Map<number, Promise<void>>();
  /** Cut the delay between waves short when the operator pauses or aborts. */
  private readonly wakeups = new Map<number, AbortController>();
  private readonly again = new Set<number>();
  private closed = false;

  constructor(private readonly d: RunnerDeps) {}

  create(spec: RolloutSpec, by: string): RolloutRecord {
    const { selector } = spec;
    const names = this.d.upgrader.candidates()
      .filter((c) => globMatch(selector.image, imageForMatching(c.image)) && (!selector.name || globMatch(selector.name, c.name)))
      .map((c) => c.name).sort();
    if (names.length === 0) throw new SpawnerError('selector_empty', 'the selector matches no instance', 'selector');
    const busy = this.d.store.busyInstances();
    const taken = names.find((n) => busy.has(n));
    if (taken) throw new SpawnerError('conflict', `instance ${taken} is still in rollout ${busy.get(taken)}; finish, abort or wait for it`, 'selector');
    const wave = assignWaves(names, spec);
    const id = this.d.store.create(spec, names.map((name, i) => ({ name, wave: wave[i] as number })), by, this.d.now());
    this.kick(id);
    return this.get(id);
  }

  get(id: number): RolloutRecord {
    const r = this.d.store.get(id);
    if (!r) throw new SpawnerError('not_found', `no rollout ${id}`, 'id');
    return r;
  }

  pause(id: number): RolloutRecord {
    return this.transition(id, ['pulling', 'running'], 'paused', 'paused by the operator');
  }

  resume(id: number): RolloutRecord {
    const r = this.transition(id, ['paused'], 'running', null);
    this.kick(id);
    return r;
  }

  /** Stops after the upgrades in flight; instances not reached are `skipped`. Nothing is undone. */
  abort(id: number): RolloutRecord {
    this.transition(id, ['pulling', 'running', 'paused'], 'aborted', 'aborted by the operator');
    if (!this.loops.has(id)) this.skipPending(id);
    return this.get(id);
  }

  /** At startup: every rollout that was pulling or running goes on. */
  resumeAll(): void {
    for (const id of this.d.store.resumable()) this.kick(id);
  }

  /** Resolves when no rollout loop runs (shutdown, tests). New kicks are refused after close. */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.wakeups.values()) c.abort();
    await Promise.all([...this.loops.values()]);
  }

  async idle(): Promise<void> {
    while (this.loops.size > 0) await Promise.all([...this.loops.values()]);
  }

  private transition(id: number, from: RolloutRecord['status'][], to: RolloutRecord['status'], reason: string | null): RolloutRecord {
    const r = this.get(id);
    if (!from.includes(r.status)) {
      throw new SpawnerError('conflict', `rollout ${id} is ${r.status}; it can be ${to === 'running' ? 'resumed' : to} only when ${from.join(' or ')}`, 'id');
    }
    this.d.store.setStatus(id, to, reason, this.d.now());
    if (to !== 'running') this.wakeups.get(id)?.abort();
    return this.get(id);
  }

  private kick(id: number): void {
    if (this.closed) return;
    if (this.loops.has(id)) {
      this.again.add(id);
      return;
    }
    const loop = this.run(id)
      .catch((err) => this.d.log.error('rollout loop failed', { rollout: id, error: errorMessage(err) }))
      .finally(() => {
        this.loops.delete(id);
        this.wakeups.delete(id);
        if (this.again.delete(id) && this.d.store.get(id)?.status === 'running') this.kick(id);
      });
    this.loops.set(id, loop);
  }

  private status(id: number) {
    return this.d.store.get(id)?.status;
  }

  private async run(id: number): Promise<void> {
    const r = this.get(id);
    if (r.status === 'pulling' && !(await this.pull(r))) return;
    this.settleInterrupted(r);
    let first = true;
    for (const wave of waves(this.get(id).items)) {
      if (!wave.some(isOpen)) continue;
      if (!first) await this.delay(id, r.spec.waveDelaySec);
      first = false;
      if (this.status(id) !== 'running' || this.closed) break;
      await Promise.all(wave.filter(isOpen).map((it) => this.upgrade(id, it, r)));
      const done = this.get(id).items.filter((i) => i.wave === wave[0]?.wave);
      if (overBudget(done, r.spec.maxFailureRatio)) {
        await this.rollbackFailed(id, done, r.createdBy);
        const failed = done.filter((i) => i.status === 'failed' || i.status === 'rolled_back').length;
        this.d.store.setStatus(id, 'paused', `wave ${done[0]?.wave}: ${failed} of ${done.length} failed, over the ratio ${r.spec.maxFailureRatio}`, this.d.now());
        return;
      }
    }
    const st = this.status(id);
    if (st === 'aborted') this.skipPending(id);
    else if (st === 'running' && !this.get(id).items.some(isOpen)) this.d.store.setStatus(id, 'done', null, this.d.now());
  }

  private async pull(r: RolloutRecord): Promise<boolean> {
    try {
      if (r.spec.target.image) await this.d.upgrader.ensureImage(r.spec.target.image);
    } catch (err) {
      this.d.store.setStatus(r.id, 'failed', `target image: ${errorMessage(err)}`, this.d.now());
      return false;
    }
    // The operator may have paused or aborted during the pull: only a pulling rollout moves on.
    if (this.status(r.id) !== 'pulling') return this.status(r.id) === 'running';
    this.d.store.setStatus(r.id, 'running', null, this.d.now());
    return true;
  }

  /** An upgrade a restart cut short: done if the instance is on a newer revision, else again. */
  private settleInterrupted(r: RolloutRecord): void {
    for (const it of r.items.filter((i) => i.status === 'upgrading')) {
      const now = this.d.upgrader.currentRevision(it.instance);
      const moved = now !== null && it.fromRevision !== null && now > it.fromRevision;
      this.d.store.setItem(r.id, it.instance, moved
        ? { status: 'upgraded', toRevision: now, reason: 'completed before a spawner restart' }
        : { status: 'pending', reason: 'interrupted by a spawner restart; retried' }, this.d.now());
    }
  }

  private async upgrade(id: number, it: RolloutItem, r: RolloutRecord): Promise<void> {
    const up = this.d.upgrader;
    if (!up.exists(it.instance)) {
      this.d.store.setItem(id, it.instance, { status: 'skipped', reason: 'instance deleted' }, this.d.now());
      return;
    }
    this.d.store.setItem(id, it.instance, { status: 'upgrading', fromRevision: up.currentRevision(it.instance) }, this.d.now());
    try {
      const res = await up.upgrade(it.instance, r.spec.target, r.createdBy);
      this.d.store.setItem(id, it.instance, { status: res.deferred ? 'deferred' : 'upgraded', toRevision: res.revision }, this.d.now());
    } catch (err) {
      this.d.store.setItem(id, it.instance, { status: 'failed', reason: errorMessage(err) }, this.d.now());
    }
  }

  /**
   * A failed redeploy never took traffic, so most failed instances are already on their old
   * revision; one that did move (it failed after its switch) is rolled back to where it was.
   */
  private async rollbackFailed(id: number, wave: readonly RolloutItem[], by: string): Promise<void> {
    for (const it of wave.filter((i) => i.status === 'failed' && i.fromRevision !== null)) {
      const from = it.fromRevision as number;
      if (this.d.upgrader.currentRevision(it.instance) === from) continue;
      try {
        await this.d.upgrader.rollback(it.instance, from, by);
        this.d.store.setItem(id, it.instance, { status: 'rolled_back', reason: `${it.reason ?? 'failed'}; rolled back to revision ${from}` }, this.d.now());
      } catch (err) {
        this.d.store.setItem(id, it.instance, { status: 'failed', reason: `${it.reason ?? 'failed'}; rollback failed: ${errorMessage(err)}` }, this.d.now());
      }
    }
  }

  private skipPending(id: number): void {
    for (const it of this.get(id).items.filter((i) => i.status === 'pending')) {
      this.d.store.setItem(id, it.instance, { status: 'skipped', reason: 'rollout aborted' }, this.d.now());
    }
  }

  private async delay(id: number, sec: number): Promise<void> {
    if (sec <= 0) return;
    const c = new AbortController();
    this.wakeups.set(id, c);
    await (this.d.sleep ?? defaultSleep)(sec * 1000, c.signal);
  }
}

export const isFinal = (r: RolloutRecord) => FINAL_ROLLOUT.includes(r.status);
