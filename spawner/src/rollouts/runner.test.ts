import { describe, expect, it } from 'vitest';
import { openDatabase } from '../store/db.js';
import { RolloutStore } from '../store/rollouts.js';
import { silentLogger } from '../log.js';
import { RolloutRunner } from './runner.js';
import type { RolloutSpec } from './types.js';
import { FakeUpgrader } from '../testing/fake-upgrader.js';

const spec = (over: Partial<RolloutSpec> = {}): RolloutSpec => ({
  selector: { image: 'mock-app:*' }, target: { image: 'mock-app:v2' },
  canary: 1, waveSize: 2, waveDelaySec: 5, maxFailureRatio: 0, ...over,
});

function setup(names: string[] = ['a', 'b', 'c', 'd', 'e']) {
  const db = openDatabase(':memory:');
  const store = new RolloutStore(db);
  const up = new FakeUpgrader();
  for (const n of names) up.add(n);
  const sleeps: number[] = [];
  const make = () => new RolloutRunner({
    store, upgrader: up, log: silentLogger, now: () => 1_000,
    sleep: async (ms) => { sleeps.push(ms); },
  });
  return { db, store, up, sleeps, runner: make(), make };
}

describe('a rollout', () => {
  it('pulls the target once, upgrades the canary alone, then waves of waveSize with the delay between', async () => {
    const { up, runner, sleeps } = setup();
    const r = runner.create(spec(), 'alice');
    expect(r.items.map((i) => [i.instance, i.wave])).toEqual([['a', 0], ['b', 1], ['c', 1], ['d', 2], ['e', 2]]);
    await runner.idle();
    const done = runner.get(r.id);
    expect(done.status).toBe('done');
    expect(up.pulls).toBe(1);
    expect(up.calls).toEqual(['upgrade a', 'upgrade b', 'upgrade c', 'upgrade d', 'upgrade e']);
    expect(sleeps).toEqual([5000, 5000]);
    expect(done.items.every((i) => i.status === 'upgraded' && i.fromRevision === 1 && i.toRevision === 2)).toBe(true);
    expect(done.createdBy).toBe('alice');
  });

  it('does not wake sleeping instances: they are reported deferred', async () => {
    const { up, runner } = setup(['a']);
    up.add('sleepy', 'mock-app:v1', false);
    const r = runner.create(spec({ canary: 0 }), 'alice');
    await runner.idle();
    expect(runner.get(r.id).items.find((i) => i.instance === 'sleepy')?.status).toBe('deferred');
    expect(runner.get(r.id).items.find((i) => i.instance === 'a')?.status).toBe('upgraded');
  });

  it('selects by image glob and optional name glob, and refuses a selector that matches nothing', () => {
    const { up, runner } = setup(['class-a-1', 'class-a-2', 'other']);
    up.add('jupyter', 'jupyter/base:1');
    const r = runner.create(spec({ selector: { image: 'mock-app:*', name: 'class-a-*' } }), 'alice');
    expect(r.items.map((i) => i.instance)).toEqual(['class-a-1', 'class-a-2']);
    expect(() => runner.create(spec({ selector: { image: 'nothing:*' } }), 'alice'))
      .toThrow(expect.objectContaining({ code: 'selector_empty', status: 422 }));
  });

  it('refuses a second rollout over an instance the first has not finished with', async () => {
    const { up, runner } = setup(['a', 'b']);
    let release!: () => void;
    up.hold = new Promise<void>((r) => { release = r; });
    const first = runner.create(spec(), 'alice');
    expect(() => runner.create(spec({ selector: { image: 'mock-app:*', name: 'b' } }), 'bob'))
      .toThrow(expect.objectContaining({ code: 'conflict' }));
    release();
    await runner.idle();
    expect(runner.get(first.id).status).toBe('done');
    expect(runner.create(spec({ selector: { image: 'mock-app:*', name: 'b' } }), 'bob').id).toBeGreaterThan(first.id);
  });

  it('fails early, before any wave, when the target image cannot be pulled', async () => {
    const { up, runner } = setup();
    up.pullFails = true;
    const r = runner.create(spec(), 'alice');
    await runner.idle();
    const failed = runner.get(r.id);
    expect(failed.status).toBe('failed');
    expect(failed.reason).toContain('could not be pulled');
    expect(up.calls).toEqual([]);
    expect(failed.items.every((i) => i.status === 'pending')).toBe(true);
  });

  it('pauses when a wave exceeds its failure ratio, rolls back the failed instance that had moved, and resumes with the next wave', async () => {
    const { up, runner } = setup();
    up.failing.add('b');
    up.failAfterSwitch.add('c');
    const r = runner.create(spec({ maxFailureRatio: 0.4 }), 'alice');
    await runner.idle();
    const paused = runner.get(r.id);
    expect(paused.status).toBe('paused');
    expect(paused.reason).toBe('wave 1: 2 of 2 failed, over the ratio 0.4');
    const by = (n: string) => paused.items.find((i) => i.instance === n);
    expect(by('b')?.status).toBe('failed'); // never took traffic: nothing to roll back
    expect(by('c')?.status).toBe('rolled_back');
    expect(up.calls).toContain('rollback c to 1');
    expect(up.calls).not.toContain('rollback b to 1');
    expect(by('d')?.status).toBe('pending');

    runner.resume(r.id);
    await runner.idle();
    const done = runner.get(r.id);
    expect(done.status).toBe('done');
    expect(done.items.filter((i) => i.wave === 2).every((i) => i.status === 'upgraded')).toBe(true);
  });

  it('tolerates failures within the ratio', async () => {
    const { up, runner } = setup(['a', 'b', 'c']);
    up.failing.add('b');
    const r = runner.create(spec({ canary: 0, waveSize: 3, maxFailureRatio: 0.5 }), 'alice');
    await runner.idle();
    expect(runner.get(r.id).status).toBe('done');
    expect(runner.get(r.id).items.find((i) => i.instance === 'b')?.status).toBe('failed');
  });

  it('skips an instance deleted before its wave', async () => {
    const { up, runner } = setup(['a', 'b']);
    const r = runner.create(spec(), 'alice');
    up.instances.delete('b');
    await runner.idle();
    expect(runner.get(r.id).items.find((i) => i.instance === 'b')).toMatchObject({ status: 'skipped', reason: 'instance deleted' });
  });

  it('pause stops before the next wave, abort leaves the rest skipped; finished rollouts refuse both', async () => {
    const { up, runner } = setup();
    let release!: () => void;
    up.hold = new Promise<void>((r) => { release = r; });
    const r = runner.create(spec(), 'alice');
    await new Promise((r2) => setImmediate(r2));
    expect(runner.pause(r.id).status).toBe('paused');
    release();
    await runner.idle();
    expect(up.calls).toEqual(['upgrade a']); // the canary in flight finished; no wave after it
    expect(runner.abort(r.id).status).toBe('aborted');
    const aborted = runner.get(r.id);
    expect(aborted.items.filter((i) => i.status === 'skipped').length).toBe(4);
    expect(() => runner.resume(r.id)).toThrow(expect.objectContaining({ code: 'conflict' }));
    expect(() => runner.pause(r.id)).toThrow(expect.objectContaining({ code: 'conflict' }));
    expect(() => runner.get(999)).toThrow(expect.objectContaining({ code: 'not_found' }));
  });
});

describe('a spawner restart mid-rollout', () => {
  it('resumes the rollout: an upgrade that committed counts as done, one that did not runs again', async () => {
    const { store, up, make } = setup(['a', 'b', 'c']);
    // What the dead process left: a running rollout, `a` upgraded, `b` and `c` cut short mid-upgrade.
    const id = store.create(spec({ canary: 0, waveSize: 3 }), [{ name: 'a', wave: 0 }, { name: 'b', wave: 0 }, { name: 'c', wave: 0 }], 'alice', 1);
    store.setStatus(id, 'running', null, 1);
    store.setItem(id, 'a', { status: 'upgraded', fromRevision: 1, toRevision: 2 }, 1);
    store.setItem(id, 'b', { status: 'upgrading', fromRevision: 1 }, 1);
    store.setItem(id, 'c', { status: 'upgrading', fromRevision: 1 }, 1);
    up.instances.get('a')!.revision = 2;
    up.instances.get('b')!.revision = 2; // its switch had committed

    const runner = make();
    runner.resumeAll();
    await runner.idle();
    const r = runner.get(id);
    expect(r.status).toBe('done');
    expect(up.calls).toEqual(['upgrade c']);
    expect(r.items.find((i) => i.instance === 'b')).toMatchObject({ status: 'upgraded', toRevision: 2 });
    expect(r.items.find((i) => i.instance === 'c')).toMatchObject({ status: 'upgraded', toRevision: 2 });
  });

  it('leaves a paused rollout paused', async () => {
    const { store, up, make } = setup(['a']);
    const id = store.create(spec(), [{ name: 'a', wave: 0 }], 'alice', 1);
    store.setStatus(id, 'paused', 'paused by the operator', 1);
    const runner = make();
    runner.resumeAll();
    await runner.idle();
    expect(runner.get(id).status).toBe('paused');
    expect(up.calls).toEqual([]);
  });
});
