import { afterEach, describe, expect, it } from 'vitest';
import { type Config } from '../config.js';
import type { ContainerSpec } from '../runtime/types.js';
import { type Database } from '../store/db.js';
import { memoryDeps } from '../testing/fixtures.js';
import { Reconciler } from './reconcile.js';
import { InstanceService } from './service.js';
import type { DeploySpec, InstanceRecord } from './types.js';

const ID = 'sp-test';
const dbs: Database[] = [];
const aborts: AbortController[] = [];
afterEach(() => {
  for (const a of aborts.splice(0)) a.abort();
  for (const db of dbs.splice(0)) db.close();
});

function harness(over: Partial<Config> = {}) {
  const deps = memoryDeps({ cfg: over, spawnerId: ID, now: () => 42 });
  const { db, cfg, runtime, instances, events, metrics } = deps;
  dbs.push(db);
  const service = new InstanceService(deps);
  const reconciler = new Reconciler(deps, service);
  return { cfg, runtime, instances, events, metrics, service, reconciler };
}
type H = ReturnType<typeof harness>;

function watch(h: H) {
  const abort = new AbortController();
  aborts.push(abort);
  h.runtime.watch({}, (ev) => h.reconciler.onEvent(ev), { signal: abort.signal });
}

/** The event stream as main.ts consumes it (cache first, then reconcile); abort() cuts it. */
function live(h: H): AbortController {
  const abort = new AbortController();
  aborts.push(abort);
  h.runtime.watch({}, (ev) => {
    h.service.states.apply(ev);
    h.reconciler.onEvent(ev);
  }, { signal: abort.signal });
  return abort;
}

const row = (name: string, over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  name, containerId: null, image: 'mock-app:latest', network: 'spawner', port: 9000, routing: 'cookie',
  public: false, secretHash: null, healthCheck: null, idleTimeoutSec: null, labels: {}, createdAt: 0,
  lastWakeAt: null, lastActivityAt: null, ...over,
});

const spec = (name: string): DeploySpec => ({
  name, image: 'mock-app:latest', network: 'spawner', port: 9000, routing: 'cookie', public: false, egress: true,
  labels: {}, traefikLabels: {}, env: {}, limits: { memoryMb: 256, cpus: 0.5, pids: 256 },
});

/** Puts a container straight into the fake engine (as a crash or another installation left it). */
function put(h: H, id: string, name: string, labels: Record<string, string>, state: 'running' | 'exited' = 'running') {
  const s: ContainerSpec = {
    name, image: 'mock-app:latest', networks: ['spawner'], labels, env: {},
    limits: { memoryBytes: 1, nanoCpus: 1, pids: 1 }, stopTimeoutSec: 1,
  };
  h.runtime.containers.set(id, {
    id, name, image: s.image, state, health: 'none', hasHealthcheck: false, labels, ips: {}, spec: s, attached: new Set(),
  });
}
const ours = (instance: string) => ({ origin: 'spawner', 'spawner.id': ID, 'spawner.instance': instance });
const foreign = (instance: string) => ({ origin: 'spawner', 'spawner.id': 'other-install', 'spawner.instance': instance });
const hex = (c: string) => c.repeat(64);
const kinds = (h: H, name: string) => h.events.list({ instance: name }).map((e) => e.kind);

describe('Reconciler.rescan', () => {
  it('adopts the owned container of a row without container id (crash between insert and create)', async () => {
    const h = harness();
    h.instances.insert(row('alice'));
    put(h, hex('1'), 'spawner-alice', ours('alice'));
    await h.reconciler.rescan();
    expect(h.instances.get('alice')?.containerId).toBe(hex('1'));
    expect(kinds(h, 'alice')).toEqual(['adopted']);
    expect(h.events.list({ instance: 'alice' })[0]?.detail).toEqual({ containerId: hex('1') });
    expect(h.runtime.mutations()).toEqual([]);
  });

  it('respects containerPrefix when adopting', async () => {
    const h = harness({ containerPrefix: 'x-' });
    h.instances.insert(row('alice'));
    put(h, hex('1'), 'spawner-alice', ours('alice')); // wrong prefix: not the deterministic name
    put(h, hex('2'), 'x-alice', ours('alice'));
    await h.reconciler.rescan();
    expect(h.instances.get('alice')?.containerId).toBe(hex('2'));
  });

  it('deletes a row without container id when no container exists', async () => {
    const h = harness();
    h.instances.insert(row('alice'));
    await h.reconciler.rescan();
    expect(h.instances.get('alice')).toBeUndefined();
    expect(kinds(h, 'alice')).toEqual(['cleaned']);
  });

  it('removes an owned container that has no row (crash between remove and delete)', async () => {
    const h = harness();
    put(h, hex('1'), 'spawner-ghost', ours('ghost'));
    await h.reconciler.rescan();
    expect(h.runtime.containers.has(hex('1'))).toBe(false);
    expect(h.runtime.calls.filter((c) => c.op === 'remove').map((c) => c.arg)).toEqual([hex('1')]);
    expect(kinds(h, 'ghost')).toEqual(['cleaned']);
  });

  it('removes an owned duplicate whose row points at another container, keeps the real one', async () => {
    const h = harness();
    h.instances.insert(row('alice', { containerId: hex('1') }));
    put(h, hex('1'), 'spawner-alice', ours('alice'));
    put(h, hex('2'), 'spawner-alice-old', ours('alice'));
    await h.reconciler.rescan();
    expect(h.runtime.containers.has(hex('1'))).toBe(true);
    expect(h.runtime.containers.has(hex('2'))).toBe(false);
    expect(h.instances.get('alice')?.containerId).toBe(hex('1'));
  });

  it('never removes or adopts a FOREIGN container (origin=spawner, other spawner.id)', async () => {
    const h = harness();
    put(h, hex('a'), 'spawner-theirs', foreign('theirs'));
    // Even one with exactly the name our row expects.
    h.instances.insert(row('alice'));
    put(h, hex('b'), 'spawner-alice', foreign('alice'));
    await h.reconciler.rescan();
    expect(h.runtime.containers.has(hex('a'))).toBe(true);
    expect(h.runtime.containers.has(hex('b'))).toBe(true);
    expect(h.runtime.mutations()).toEqual([]);
    expect(h.instances.get('alice')).toBeUndefined(); // not adopted: it is not ours
  });

  it('never touches containers without origin=spawner even if they carry our id', async () => {
    const h = harness();
    put(h, hex('c'), 'spawner-x', { 'spawner.id': ID, 'spawner.instance': 'x' });
    await h.reconciler.rescan();
    expect(h.runtime.containers.has(hex('c'))).toBe(true);
    expect(h.runtime.mutations()).toEqual([]);
  });

  it('keeps a row whose container vanished (the API reports it as gone)', async () => {
    const h = harness();
    h.instances.insert(row('alice', { containerId: hex('9') }));
    await h.reconciler.rescan();
    expect(h.instances.get('alice')?.containerId).toBe(hex('9'));
    expect(kinds(h, 'alice')).toEqual([]);
  });

  it('leaves healthy deployments alone', async () => {
    const h = harness();
    await h.service.deploy(spec('alice'));
    await h.service.deploy(spec('bob'));
    h.runtime.calls.length = 0;
    await h.reconciler.rescan();
    expect(h.runtime.mutations()).toEqual([]);
    expect(h.instances.list().map((r) => r.name)).toEqual(['alice', 'bob']);
  });

  it('skips instances whose lock is held (a deploy in progress)', async () => {
    const h = harness();
    h.instances.insert(row('busy'));
    put(h, hex('1'), 'spawner-orphan', ours('orphan'));
    let release!: () => void;
    const held = h.service.locks.run('busy', () => new Promise<void>((r) => { release = r; }));
    const held2 = h.service.locks.run('orphan', () => new Promise<void>((r) => { setImmediate(r); }));
    await h.reconciler.rescan();
    expect(h.instances.get('busy')).toBeDefined();
    expect(h.runtime.containers.has(hex('1'))).toBe(true);
    release();
    await Promise.all([held, held2]);
    await h.reconciler.rescan();
    expect(h.instances.get('busy')).toBeUndefined();
    expect(h.runtime.containers.has(hex('1'))).toBe(false);
  });
});

describe('Reconciler.onEvent', () => {
  it('records stops and starts done behind our back as external_*', async () => {
    const h = harness();
    watch(h);
    const { view } = await h.service.deploy(spec('alice'));
    const id = view.id as string;
    await h.runtime.stop(id);
    await h.runtime.start(id);
    await h.runtime.remove(id);
    expect(kinds(h, 'alice')).toEqual(['deployed', 'external_stop', 'external_start', 'external_remove']);
    expect(h.events.list({ instance: 'alice' }).slice(1).every((e) => e.reason === 'external')).toBe(true);
    expect(h.metrics.registry.render()).toContain('spawner_stops_total{reason="external"} 1');
  });

  it('does not record events the service caused (service.expected), and consumes them', async () => {
    const h = harness();
    watch(h);
    const { view } = await h.service.deploy(spec('alice'));
    const id = view.id as string;
    await h.service.stop('alice');
    await h.service.start('alice');
    expect(h.service.expected.has(id)).toBe(false);
    expect(kinds(h, 'alice')).toEqual(['deployed', 'stopped', 'started']);
    await h.service.remove('alice');
    expect(kinds(h, 'alice')).not.toContain('external_remove');
  });

  it('an expected id excuses exactly one event', async () => {
    const h = harness();
    watch(h);
    const { view } = await h.service.deploy(spec('alice'));
    const id = view.id as string;
    h.service.expected.add(id, 'stop');
    await h.runtime.stop(id); // die consumes the expectation
    await h.runtime.start(id); // this one is external again
    expect(kinds(h, 'alice')).toEqual(['deployed', 'external_start']);
  });

  it('a start of ours whose event never came does not excuse a removal made outside (a listing skipped the start)', async () => {
    const h = harness();
    watch(h);
    const { view } = await h.service.deploy(spec('alice'));
    const id = view.id as string;
    h.service.expected.add(id, 'start'); // as if the start's event had been skipped
    await h.runtime.remove(id);
    expect(kinds(h, 'alice')).toEqual(['deployed', 'external_remove']);
    expect(h.service.expected.has(id)).toBe(false);
  });

  it('ignores events of containers without a row and kinds it does not track', () => {
    const h = harness();
    h.instances.insert(row('alice', { containerId: hex('1') }));
    h.reconciler.onEvent({ kind: 'die', id: hex('2'), name: 'x', labels: {}, time: 1 });
    h.reconciler.onEvent({ kind: 'create', id: hex('1'), name: 'x', labels: {}, time: 1 });
    h.reconciler.onEvent({ kind: 'stop', id: hex('1'), name: 'x', labels: {}, time: 1 });
    h.reconciler.onEvent({ kind: 'health', id: hex('1'), name: 'x', labels: {}, health: 'healthy', time: 1 });
    expect(h.events.list()).toEqual([]);
  });
});

describe('Reconciler.rescan logs what changed while the event stream was down', () => {
  const seenBy = (h: H, name: string) => h.events.list({ instance: name })
    .filter((e) => e.kind.startsWith('external_')).map((e) => [e.kind, e.reason, e.detail]);
  const rescanned = (kind: string) => [kind, 'external', { seenBy: 'rescan' }];

  /** alice, bob, carol deployed with the stream up and a first rescan done; then the stream is cut. */
  async function primedThenCut(h: H) {
    const stream = live(h);
    const ids: Record<string, string> = {};
    for (const n of ['alice', 'bob', 'carol']) ids[n] = (await h.service.deploy(spec(n))).view.id as string;
    await h.reconciler.rescan();
    stream.abort();
    return ids;
  }

  it('logs a stop, a start and a removal made meanwhile, once, as seen by the rescan', async () => {
    const h = harness();
    const stream = live(h);
    const ids: Record<string, string> = {};
    for (const n of ['alice', 'bob', 'carol']) ids[n] = (await h.service.deploy(spec(n))).view.id as string;
    await h.service.stop('bob');
    await h.reconciler.rescan();
    stream.abort();
    await h.runtime.stop(ids.alice as string);
    await h.runtime.start(ids.bob as string);
    await h.runtime.remove(ids.carol as string);
    await h.reconciler.rescan();
    expect(seenBy(h, 'alice')).toEqual([rescanned('external_stop')]);
    expect(seenBy(h, 'bob')).toEqual([rescanned('external_start')]);
    expect(seenBy(h, 'carol')).toEqual([rescanned('external_remove')]);
    expect(h.metrics.registry.render()).toContain('spawner_stops_total{reason="external"} 1');
    await h.reconciler.rescan(); // the stream is still down: nothing new, nothing again
    expect(h.events.list().filter((e) => e.kind.startsWith('external_'))).toHaveLength(3);
  });

  it('logs nothing on the first rescan (nothing to diff against), then diffs from it', async () => {
    const h = harness();
    const stream = live(h); // as main.ts: watching before the first rescan
    const id = (await h.service.deploy(spec('alice'))).view.id as string;
    stream.abort();
    await h.runtime.stop(id);
    await h.reconciler.rescan();
    expect(seenBy(h, 'alice')).toEqual([]);
    await h.runtime.start(id);
    await h.reconciler.rescan();
    expect(seenBy(h, 'alice')).toEqual([rescanned('external_start')]);
  });

  it('does not log again what the live stream recorded', async () => {
    const h = harness();
    const ids = await primedThenCut(h);
    live(h); // reconnected
    await h.runtime.stop(ids.alice as string);
    await h.runtime.remove(ids.bob as string);
    await h.reconciler.rescan();
    await h.reconciler.rescan();
    expect(seenBy(h, 'alice')).toEqual([['external_stop', 'external', null]]);
    expect(seenBy(h, 'bob')).toEqual([['external_remove', 'external', null]]);
    expect(h.metrics.registry.render()).toContain('spawner_stops_total{reason="external"} 1');
  });

  it('a stop event that arrives while the rescan lists is logged once (list taken after the stop)', async () => {
    const h = harness();
    const ids = await primedThenCut(h);
    live(h);
    const list = h.runtime.list.bind(h.runtime);
    h.runtime.list = async (labels) => {
      await h.runtime.stop(ids.alice as string); // engine stops it, the event comes, then the list
      return list(labels);
    };
    await h.reconciler.rescan();
    expect(seenBy(h, 'alice')).toEqual([['external_stop', 'external', null]]);
  });

  it('a stop event that arrives while the rescan lists is logged once (list taken before the stop)', async () => {
    const h = harness();
    const ids = await primedThenCut(h);
    live(h);
    const list = h.runtime.list.bind(h.runtime);
    h.runtime.list = async (labels) => {
      const res = await list(labels); // still says running
      await h.runtime.stop(ids.alice as string);
      return res;
    };
    await h.reconciler.rescan();
    h.runtime.list = list;
    await h.reconciler.rescan(); // the engine now says exited: already logged live
    expect(seenBy(h, 'alice')).toEqual([['external_stop', 'external', null]]);
  });

  it('a change the rescan base learned from a read (GET /deploy, inspect) is still logged', async () => {
    const h = harness();
    const ids = await primedThenCut(h);
    h.service.states.invalidate();
    await h.runtime.stop(ids.alice as string);
    await h.runtime.stop(ids.bob as string);
    expect((await h.service.list()).map((v) => v.status)).toEqual(['exited', 'exited', 'running']);
    expect((await h.service.get('bob')).status).toBe('exited');
    await h.reconciler.rescan();
    expect(seenBy(h, 'alice')).toEqual([rescanned('external_stop')]);
    expect(seenBy(h, 'bob')).toEqual([rescanned('external_stop')]);
  });

  it('what the service did meanwhile is not external, and its expectation is consumed', async () => {
    const h = harness();
    const ids = await primedThenCut(h);
    await h.service.stop('alice');
    await h.service.remove('bob');
    expect(h.service.expected.has(ids.alice as string)).toBe(true); // no event came to consume it
    await h.reconciler.rescan();
    expect(h.service.expected.has(ids.alice as string)).toBe(false);
    expect(kinds(h, 'alice')).toEqual(['deployed', 'stopped']);
    expect(kinds(h, 'bob')).toEqual(['deployed', 'removed']);
    // The expectation excused exactly that change.
    await h.runtime.start(ids.alice as string);
    await h.reconciler.rescan();
    expect(seenBy(h, 'alice')).toEqual([rescanned('external_start')]);
  });

  it('skips an instance whose lock is held and looks at it again at the next rescan', async () => {
    const h = harness();
    const ids = await primedThenCut(h);
    await h.runtime.stop(ids.alice as string);
    let release!: () => void;
    const held = h.service.locks.run('alice', () => new Promise<void>((r) => { release = r; }));
    await h.reconciler.rescan();
    expect(seenBy(h, 'alice')).toEqual([]);
    release();
    await held;
    await h.reconciler.rescan();
    expect(seenBy(h, 'alice')).toEqual([rescanned('external_stop')]);
  });

  it('ignores containers without a row (its own orphan cleanup included)', async () => {
    const h = harness();
    const ids = await primedThenCut(h);
    put(h, hex('1'), 'spawner-ghost', ours('ghost'));
    await h.reconciler.rescan(); // lists the orphan, then removes it
    expect(h.runtime.containers.has(hex('1'))).toBe(false);
    h.instances.delete('carol'); // a row gone, its container stopped behind our back
    await h.runtime.stop(ids.carol as string);
    await h.reconciler.rescan();
    expect(h.events.list().filter((e) => e.kind.startsWith('external_'))).toEqual([]);
  });
});
