/** An in-memory Upgrader for unit tests of rollout logic (no engine, no redeploys). Test-only. */
import { SpawnerError } from '../errors.js';
import type { RolloutTarget, Upgrader } from '../rollouts/types.js';

/** Instances in memory; each upgrade bumps the revision, unless the name is set to fail. */
export class FakeUpgrader implements Upgrader {
  readonly instances = new Map<string, { image: string; revision: number; running: boolean }>();
  readonly calls: string[] = [];
  readonly failing = new Set<string>();
  /** Instances whose failed upgrade still moved them (failed after the switch). */
  readonly failAfterSwitch = new Set<string>();
  pullFails = false;
  pulls = 0;
  hold: Promise<void> | null = null;

  add(name: string, image = 'mock-app:v1', running = true) {
    this.instances.set(name, { image, revision: 1, running });
  }
  candidates() { return [...this.instances].map(([name, i]) => ({ name, image: i.image })); }
  exists(name: string) { return this.instances.has(name); }
  currentRevision(name: string) { return this.instances.get(name)?.revision ?? null; }
  async ensureImage() {
    this.pulls++;
    if (this.pullFails) throw new SpawnerError('image_unavailable', 'image mock-app:v2 could not be pulled');
  }
  async upgrade(name: string, target: RolloutTarget) {
    this.calls.push(`upgrade ${name}`);
    if (this.hold) await this.hold;
    const i = this.instances.get(name);
    if (!i) throw new SpawnerError('not_found', 'gone');
    if (this.failAfterSwitch.has(name)) { i.revision++; throw new Error('failed after its switch'); }
    if (this.failing.has(name)) throw new Error('gate: route never appeared');
    i.revision++;
    if (target.image) i.image = target.image;
    return { revision: i.revision, deferred: !i.running };
  }
  async rollback(name: string, revision: number) {
    this.calls.push(`rollback ${name} to ${revision}`);
    const i = this.instances.get(name);
    if (i) i.revision++;
  }
}

