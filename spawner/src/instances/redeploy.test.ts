/**
 * The redeploy domain over FakeRuntime: the documented order with the instance lock (a wake or a
 * stop that arrives during a redeploy acts on the new revision), the stopped-instance path, and
 * what is refused before any container is made. The start-first switch itself runs against real
 * Traefik in test/redeploy.e2e.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HealthWatcher } from '../readiness/health.js';
import type { GateDeps } from '../readiness/gate.js';
import type { Database } from '../store/db.js';
import { RevisionStore } from '../store/revisions.js';
import type { TraefikApi } from '../traefik/api.js';
import { fakeTraefik } from '../testing/fake-traefik.js';
import { memoryDeps, rejection } from '../testing/fixtures.js';
import { defaultStrategy, Redeployer } from './redeploy.js';
import type { Config } from '../config.js';
import { Revisions } from './revisions.js';
import { InstanceService } from './service.js';
import type { DeploySpec } from './types.js';
import { Waker } from './waker.js';

const dbs: Database[] = [];
const aborts: AbortController[] = [];
afterEach(() => {
  for (const a of aborts.splice(0)) a.abort();
  for (const db of dbs.splice(0)) db.close();
});

function harness(cfg: Partial<Config> = {}) {
  const base = memoryDeps({ cfg: { probeThroughProxy: false, ...cfg }, images: ['mock-app:1', 'mock-app:2'] });
  dbs.push(base.db);
  const deps = { ...base, revisions: new Revisions(new RevisionStore(base.db), null, 10) };
  deps.runtime.healthOnStart = 'healthy';
  const service = new InstanceService(deps);
  const health = new HealthWatcher(deps.runtime);
  const gate: GateDeps = { cfg: deps.cfg, runtime: deps.runtime, health, traefik: fakeTraefik(deps.runtime) as unknown as TraefikApi, now: deps.now };
  const abort = new AbortController();
  aborts.push(abort);
  deps.runtime.watch({}, (ev) => health.onEvent(ev), { signal: abort.signal });
  return { deps, service, waker: new Waker(deps, service, gate), redeployer: new Redeployer(deps, service, gate, 'nonce') };
}

const spec = (name: string): DeploySpec => ({
  name, image: 'mock-app:1', network: 'spawner', port: 9000, routing: 'cookie', public: false, egress: true,
  labels: {}, traefikLabels: {}, env: { A: '1' }, limits: { memoryMb: 256, cpus: 0.5, pids: 256 },
});

describe('redeploy of a stopped instance', () => {
  it('creates the new container without starting it, removes the old one; a wake queued behind it starts the NEW one', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('a'), 'alice');
    await h.service.stop('a');
    const old = view.id as string;
    const redeploy = h.redeployer.redeploy('a', { image: 'mock-app:2' }, 'bob');
    // The wake arrives while the redeploy holds the lock, with the record as it was before.
    const wake = h.waker.wake(h.deps.instances.get('a')!);
    const r = await redeploy;
    expect(r.revision).toMatchObject({ revision: 2, status: 'active', image: 'mock-app:2', createdBy: 'bob', envKeys: ['A'] });
    const rec = h.deps.instances.get('a')!;
    expect(rec.containerId).not.toBe(old);
    expect(h.deps.runtime.containers.has(old)).toBe(false);
    expect((await wake).started).toBe(true);
    expect(h.deps.runtime.containers.get(rec.containerId!)).toMatchObject({ state: 'running', name: 'spawner-a.r2', image: 'mock-app:2' });
    expect(h.deps.runtime.containers.get(rec.containerId!)?.labels['spawner.revision']).toBe('2');
    expect(h.deps.revisions.store.list('a').map((x) => [x.n, x.status])).toEqual([[2, 'active'], [1, 'superseded']]);
  });

  it('keeps what was not sent, carries the identity over as a fresh credential, and keeps the route labels', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('a'), 'alice');
    await h.service.stop('a');
    const oldLabels = h.deps.runtime.containers.get(view.id as string)!.labels;
    await h.redeployer.redeploy('a', { port: 8080 }, 'bob');
    const now = h.deps.runtime.containers.get(h.deps.instances.get('a')!.containerId!)!;
    expect(now.spec.env).toMatchObject({ A: '1', SPAWNER_IDENTITY_TOKEN: expect.stringMatching(/^sid1\./) });
    expect(now.spec.image).toBe('mock-app:1');
    const rule = 'traefik.http.routers.spawner-i-a.rule';
    expect(now.labels[rule]).toBe(oldLabels[rule]);
    expect(now.labels['traefik.http.services.spawner-i-a.loadbalancer.server.port']).toBe('8080');
    expect(h.deps.instances.get('a')).toMatchObject({ port: 8080, revision: 2 });
  });
});

describe('stop-first, chosen at deploy', () => {
  it('later redeploys of the running instance stop the old container first (no switch route needed)', async () => {
    const h = harness();
    const { view } = await h.service.deploy({ ...spec('a'), strategy: 'stop-first' }, 'alice');
    const r = await h.redeployer.redeploy('a', { image: 'mock-app:2' }, 'bob');
    expect(r.revision).toMatchObject({ revision: 2, status: 'active' });
    const calls = h.deps.runtime.calls.map((c) => c.op);
    expect(calls.indexOf('stop')).toBeLessThan(calls.lastIndexOf('create'));
    expect(h.deps.runtime.containers.has(view.id as string)).toBe(false);
    expect(h.deps.runtime.containers.get(h.deps.instances.get('a')!.containerId!)?.state).toBe('running');
  });
});

describe('stop-first, chosen by the operator per image (SPAWNER_STOP_FIRST_IMAGES)', () => {
  it('matches the image the redeploy runs, like the allowlist (a bare name is :latest)', () => {
    expect(defaultStrategy(['mock-app:2', 'db/*'], 'mock-app:2')).toBe('stop-first');
    expect(defaultStrategy(['mock-app:2', 'db/*'], 'mock-app:1')).toBe('start-first');
    expect(defaultStrategy(['db/*'], 'db/postgres')).toBe('stop-first');
    expect(defaultStrategy(['mock-app:latest'], 'mock-app')).toBe('stop-first');
    expect(defaultStrategy([], 'mock-app:2')).toBe('start-first');
  });

  it('a running instance moving to a stop-first image is stopped first; the deploy\'s own strategy still wins', async () => {
    const h = harness({ stopFirstImages: ['mock-app:2'] });
    const { view } = await h.service.deploy(spec('a'), 'alice');
    await h.redeployer.redeploy('a', { image: 'mock-app:2' }, 'bob');
    const calls = h.deps.runtime.calls.map((c) => c.op);
    // No switch route (none is configured here, which start-first would refuse): stop, then create.
    expect(calls.indexOf('stop')).toBeLessThan(calls.lastIndexOf('create'));
    expect(h.deps.runtime.containers.has(view.id as string)).toBe(false);

    await h.service.deploy({ ...spec('b'), strategy: 'start-first' }, 'alice');
    await expect(h.redeployer.redeploy('b', { image: 'mock-app:2' }, 'bob')).rejects.toMatchObject({ code: 'conflict', field: 'strategy' });
  });
});

describe('refused before any container is made', () => {
  it('a second redeploy while one runs: 409 redeploy_in_progress', async () => {
    const h = harness();
    await h.service.deploy(spec('a'), 'alice');
    await h.service.stop('a');
    const first = h.redeployer.redeploy('a', { image: 'mock-app:2' }, 'bob');
    expect((await rejection(h.redeployer.redeploy('a', { image: 'mock-app:1' }, 'bob'))).code).toBe('redeploy_in_progress');
    await first;
  });

  it('start-first of a running instance without Traefik\'s file provider directory: 409, nothing created', async () => {
    const h = harness();
    await h.service.deploy(spec('a'), 'alice');
    const before = h.deps.runtime.containers.size;
    const err = await rejection(h.redeployer.redeploy('a', { image: 'mock-app:2' }, 'bob'));
    expect([err.code, err.field]).toEqual(['conflict', 'strategy']);
    expect(h.deps.runtime.containers.size).toBe(before);
    expect(h.deps.revisions.store.list('a')).toHaveLength(1);
  });

  it('an unknown instance, an image that cannot be had: clear errors, no revision recorded', async () => {
    const h = harness();
    expect((await rejection(h.redeployer.redeploy('nope', {}, 'bob'))).code).toBe('not_found');
    await h.service.deploy(spec('a'), 'alice');
    await h.service.stop('a');
    h.deps.runtime.pullImage = async () => { throw new Error('no registry'); };
    expect((await rejection(h.redeployer.redeploy('a', { image: 'mock-app:9' }, 'bob'))).code).toBe('image_unavailable');
    expect(h.deps.revisions.store.list('a')).toHaveLength(1);
  });
});
