import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS, type Config } from '../config.js';
import { SpawnerError } from '../errors.js';
import { FakeRuntime } from '../runtime/fake.js';
import type { ContainerSpec } from '../runtime/types.js';
import { type Database } from '../store/db.js';
import { InstanceService } from './service.js';
import { memoryDeps, rejection } from '../testing/fixtures.js';
import type { DeploySpec } from './types.js';

const SPAWNER_ID = 'sp-test';
const IMAGE = 'mock-app:latest';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const dbs: Database[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  vi.restoreAllMocks();
});

function harness(over: Partial<Config> = {}) {
  const clock = { t: 1_700_000_000_000 };
  const deps = memoryDeps({ cfg: over, spawnerId: SPAWNER_ID, now: () => clock.t, images: [IMAGE] });
  const { db, cfg, runtime, instances, events, metrics } = deps;
  dbs.push(db);
  const service = new InstanceService(deps);
  return { db, cfg, runtime, instances, events, metrics, clock, deps, service };
}

function spec(name: string, over: Partial<DeploySpec> = {}): DeploySpec {
  return {
    name, image: IMAGE, network: 'spawner', port: 9000, routing: 'cookie', public: false, egress: true,
    labels: {}, traefikLabels: {}, env: {}, limits: { memoryMb: 256, cpus: 0.5, pids: 256 },
    ...over,
  };
}

const count = (rt: FakeRuntime, op: string) => rt.calls.filter((c) => c.op === op).length;

/** A container that looks like a spawner's but belongs to another installation. */
function addForeign(rt: FakeRuntime, name: string, state: 'running' | 'exited' = 'running'): string {
  const id = 'a'.repeat(64);
  const labels = { origin: 'spawner', 'spawner.id': 'someone-else', 'spawner.instance': name };
  const spec: ContainerSpec = {
    name: `spawner-${name}`, image: IMAGE, networks: ['spawner'], labels, env: {},
    limits: { memoryBytes: 1, nanoCpus: 1, pids: 1 }, stopTimeoutSec: 1,
  };
  rt.containers.set(id, {
    id, name: spec.name, image: IMAGE, state, health: 'none', hasHealthcheck: false, labels,
    ips: { spawner: '10.9.9.9' }, spec, attached: new Set(),
  });
  return id;
}

describe('InstanceService.deploy', () => {
  it('creates and starts <containerPrefix><name> with ownership labels and a cookie rule', async () => {
    const h = harness({ containerPrefix: 'pfx-' });
    const res = await h.service.deploy(spec('alice', { labels: { team: 'blue' }, env: { A: '1' } }));

    expect(h.runtime.mutations()).toEqual(['create', 'start']);
    expect(h.runtime.calls.find((c) => c.op === 'create')?.arg).toBe('pfx-alice');
    const [c] = [...h.runtime.containers.values()];
    expect(c?.name).toBe('pfx-alice');
    expect(c?.spec.hostname).toBe('alice'); // the instance name, not the prefixed container name
    expect(c?.state).toBe('running');
    expect(c?.labels.origin).toBe('spawner');
    expect(c?.labels['spawner.id']).toBe(SPAWNER_ID);
    expect(c?.labels['spawner.instance']).toBe('alice');
    expect(c?.labels.team).toBe('blue');
    // The caller's env plus the instance's identity credential and where to present it.
    expect(c?.spec.env).toEqual({ A: '1', SPAWNER_IDENTITY_TOKEN: expect.stringMatching(/^sid1\./), SPAWNER_SELF_URL: 'http://traefik/.spawner/self' });
    expect(c?.spec.limits).toEqual({ memoryBytes: 256 * 1024 * 1024, nanoCpus: 500_000_000, pids: 256 });
    const rule = c?.labels['traefik.http.routers.spawner-i-alice.rule'] ?? '';
    expect(rule).toMatch(/^HeaderRegexp\(`Cookie`, `.*instance=alice\\\.[0-9a-f]{32}.*`\)$/);

    expect(res.cookie.name).toBe('instance');
    expect(res.cookie.value).toMatch(/^alice\.[0-9a-f]{32}$/);
    const secret = res.cookie.value.split('.')[1] ?? '';
    expect(rule).toContain(secret);
    expect(res.view).toMatchObject({ id: c?.id, name: 'alice', image: IMAGE, status: 'running', labels: { team: 'blue' } });
    expect(JSON.stringify(res.view)).not.toContain(secret);
  });

  it('stores only sha256(secret) and never the secret itself', async () => {
    const h = harness();
    const res = await h.service.deploy(spec('alice'));
    const secret = res.cookie.value.slice('alice.'.length);
    const rec = h.instances.get('alice');
    expect(rec?.secretHash).toBe(sha256(secret));
    expect(rec?.containerId).toBe([...h.runtime.containers.keys()][0]);
    const dump = JSON.stringify([
      h.db.prepare('SELECT * FROM instances').all(),
      h.db.prepare('SELECT * FROM events').all(),
      h.db.prepare('SELECT * FROM meta').all(),
    ]);
    expect(dump).not.toContain(secret);
    expect(dump).toContain(sha256(secret));
  });

  it('uses a fresh secret per instance', async () => {
    const h = harness();
    const a = await h.service.deploy(spec('a'));
    const b = await h.service.deploy(spec('b'));
    expect(a.cookie.value.slice(2)).not.toBe(b.cookie.value.slice(2));
  });

  it('records a deployed event and counts the deploy', async () => {
    const h = harness();
    await h.service.deploy(spec('alice'));
    expect(h.events.list({ instance: 'alice' }).map((e) => e.kind)).toEqual(['deployed']);
    expect(h.metrics.registry.render()).toContain('spawner_deploys_total{result="ok"} 1');
  });

  it('duplicate name → conflict with zero create calls the second time', async () => {
    const h = harness();
    await h.service.deploy(spec('alice'));
    const before = h.runtime.calls.length;
    const err = await rejection(h.service.deploy(spec('alice', { image: 'mock-app:other' })));
    expect(err.code).toBe('conflict');
    expect(err.status).toBe(409);
    expect(h.runtime.calls.slice(before).filter((c) => c.op === 'create')).toHaveLength(0);
    expect(h.runtime.mutations()).toEqual(['create', 'start']);
    expect(h.instances.get('alice')?.image).toBe(IMAGE);
  });

  it('two concurrent deploys of one name: one wins, the other gets conflict, one create', async () => {
    const h = harness();
    const results = await Promise.allSettled([h.service.deploy(spec('alice')), h.service.deploy(spec('alice'))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as SpawnerError).code).toBe('conflict');
    expect(count(h.runtime, 'create')).toBe(1);
    expect(h.runtime.containers.size).toBe(1);
  });

  it('a create failure leaves no container and no row', async () => {
    const h = harness();
    vi.spyOn(h.runtime, 'create').mockRejectedValueOnce(new Error('engine exploded at /var/run/docker.sock'));
    const err = await rejection(h.service.deploy(spec('alice')));
    expect(err.code).toBe('runtime_unavailable');
    expect(err.message).not.toContain('docker.sock');
    expect(h.runtime.containers.size).toBe(0);
    expect(h.instances.get('alice')).toBeUndefined();
    expect(h.instances.count()).toBe(0);
    expect(h.metrics.registry.render()).toContain('spawner_deploys_total{result="error"} 1');
    // and the name is free again
    await h.service.deploy(spec('alice'));
    expect(h.instances.get('alice')).toBeDefined();
  });

  it('a name clash in the engine (409) maps to conflict and removes nothing of the other container', async () => {
    const h = harness();
    const foreign = addForeign(h.runtime, 'alice');
    const err = await rejection(h.service.deploy(spec('alice')));
    expect(err.code).toBe('conflict');
    expect(h.runtime.containers.has(foreign)).toBe(true);
    expect(count(h.runtime, 'remove')).toBe(0);
    expect(h.instances.get('alice')).toBeUndefined();
  });

  it('a start failure removes the created container and the row', async () => {
    const h = harness();
    h.runtime.failStart = true;
    const err = await rejection(h.service.deploy(spec('alice')));
    expect(err.code).toBe('runtime_unavailable');
    expect(h.runtime.mutations()).toEqual(['create', 'start', 'remove']);
    expect(h.runtime.containers.size).toBe(0);
    expect(h.instances.get('alice')).toBeUndefined();
    expect(h.events.list({ instance: 'alice' }).map((e) => e.kind)).not.toContain('deployed');
  });

  it('missing image that cannot be pulled → image_unavailable, no container, no row', async () => {
    const h = harness();
    const err = await rejection(h.service.deploy(spec('alice', { image: 'mock-app:missing' })));
    expect(err.code).toBe('image_unavailable');
    expect(err.field).toBe('image');
    expect(h.runtime.mutations()).toEqual(['pull']);
    expect(h.runtime.containers.size).toBe(0);
    expect(h.instances.get('alice')).toBeUndefined();
  });

  it('missing image that pulls fine is deployed', async () => {
    const h = harness();
    const pull = vi.spyOn(h.runtime, 'pullImage').mockResolvedValue(undefined);
    await h.service.deploy(spec('alice', { image: 'mock-app:new' }));
    expect(pull).toHaveBeenCalledWith('mock-app:new', expect.objectContaining({ timeoutMs: DEFAULTS.pullTimeoutSec * 1000 }));
    expect([...h.runtime.containers.values()][0]?.image).toBe('mock-app:new');
  });

  it('a network that does not exist → network_not_allowed before any mutation', async () => {
    const h = harness({ allowedNetworks: ['other'] });
    const err = await rejection(h.service.deploy(spec('alice', { network: 'other' })));
    expect(err.code).toBe('network_not_allowed');
    expect(err.field).toBe('network');
    expect(h.runtime.mutations()).toEqual([]);
    expect(h.instances.get('alice')).toBeUndefined();
  });

  it('bareNameCookies: the cookie is the bare name and no secret hash is stored', async () => {
    const h = harness({ bareNameCookies: true });
    const res = await h.service.deploy(spec('alice'));
    expect(res.cookie).toEqual({ name: 'instance', value: 'alice' });
    expect(h.instances.get('alice')?.secretHash).toBeNull();
    const rule = [...h.runtime.containers.values()][0]?.labels['traefik.http.routers.spawner-i-alice.rule'];
    expect(rule).toContain('instance=alice[ \\t]*(;|$)');
  });

  it('public instances get the bare name and no secret', async () => {
    const h = harness();
    const res = await h.service.deploy(spec('pub', { public: true }));
    expect(res.cookie.value).toBe('pub');
    expect(h.instances.get('pub')?.secretHash).toBeNull();
    expect(h.instances.get('pub')?.public).toBe(true);
  });

  it('uses the configured cookie name', async () => {
    const h = harness({ cookieName: 'route_me' });
    const res = await h.service.deploy(spec('alice'));
    expect(res.cookie.name).toBe('route_me');
    expect([...h.runtime.containers.values()][0]?.labels['traefik.http.routers.spawner-i-alice.rule']).toContain('route_me=alice');
  });

  it('close() → shutting_down for deploy and start, with no engine call', async () => {
    const h = harness();
    await h.service.deploy(spec('alice'));
    h.service.close();
    const before = h.runtime.calls.length;
    const e1 = await rejection(h.service.deploy(spec('bob')));
    expect(e1.code).toBe('shutting_down');
    expect(e1.retryAfter).toBe(5);
    const e2 = await rejection(h.service.start('alice'));
    expect(e2.code).toBe('shutting_down');
    expect(h.runtime.calls.length).toBe(before);
    expect(h.instances.get('bob')).toBeUndefined();
  });
});

describe('InstanceService list/get/start/stop/remove', () => {
  it('list shows every row with its live status; never the secret hash', async () => {
    const h = harness();
    await h.service.deploy(spec('a'));
    await h.service.deploy(spec('b'));
    await h.service.stop('b');
    const list = await h.service.list();
    expect(list.map((v) => [v.name, v.status])).toEqual([['a', 'running'], ['b', 'exited']]);
    const text = JSON.stringify(list);
    expect(text).not.toContain(h.instances.get('a')?.secretHash ?? 'x');
    expect(text).not.toContain('secretHash');
    expect(text).not.toContain('traefik.');
  });

  it('get by name and by container id prefix; unknown → not_found', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('alice'));
    expect((await h.service.get('alice')).id).toBe(view.id);
    expect((await h.service.get(view.id?.slice(0, 12) ?? '')).name).toBe('alice');
    expect((await rejection(h.service.get('nobody'))).code).toBe('not_found');
    expect((await rejection(h.service.get('0123456789ab'))).code).toBe('not_found');
  });

  it('resolves a Swarm service id (25 base-36 characters), whole or its first 12, as an instance id', async () => {
    const h = harness();
    await h.service.deploy(spec('alice'));
    h.instances.setContainerId('alice', 'd8c9ns1iofmmjndut6tsyiomx');
    expect(h.service.resolve('d8c9ns1iofmmjndut6tsyiomx').name).toBe('alice');
    expect(h.service.resolve('d8c9ns1iofmm').name).toBe('alice');
    expect(() => h.service.resolve('d8c9ns1iofm')).toThrow(/no instance named/); // 11: too short to be an id
  });

  it('stop then start; each is idempotent and only touches the engine when needed', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('alice'));
    const id = view.id as string;
    expect((await h.service.stop('alice')).status).toBe('exited');
    expect((await h.service.stop('alice')).status).toBe('exited');
    expect(count(h.runtime, 'stop')).toBe(1);
    expect((await h.service.start('alice')).status).toBe('running');
    expect((await h.service.start(id)).status).toBe('running');
    expect(count(h.runtime, 'start')).toBe(2); // deploy + one start
    expect(h.events.list({ instance: 'alice' }).map((e) => [e.kind, e.reason])).toEqual([
      ['deployed', null], ['stopped', 'api'], ['started', 'api'],
    ]);
    expect(h.service.expected.has(id)).toBe(true);
  });

  it('stop records the given reason', async () => {
    const h = harness();
    await h.service.deploy(spec('alice'));
    await h.service.stop('alice', 'idle');
    expect(h.events.list({ instance: 'alice' }).at(-1)).toMatchObject({ kind: 'stopped', reason: 'idle' });
    expect(h.metrics.registry.render()).toContain('spawner_stops_total{reason="idle"} 1');
  });

  it('remove deletes the container and the row; events survive', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('alice'));
    await h.service.remove('alice');
    expect(h.runtime.containers.has(view.id as string)).toBe(false);
    expect(h.instances.get('alice')).toBeUndefined();
    expect(h.events.list({ instance: 'alice' }).map((e) => e.kind)).toEqual(['deployed', 'removed']);
    expect((await rejection(h.service.remove('alice'))).code).toBe('not_found');
  });

  it('a container removed behind our back: get says gone, start/stop say not_found, remove cleans the row', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('alice'));
    h.runtime.containers.delete(view.id as string);
    expect((await h.service.get('alice')).status).toBe('gone');
    expect((await rejection(h.service.start('alice'))).code).toBe('not_found');
    expect((await rejection(h.service.stop('alice'))).code).toBe('not_found');
    await h.service.remove('alice');
    expect(h.instances.get('alice')).toBeUndefined();
  });

  it('a row without container id shows as creating', async () => {
    const h = harness();
    h.instances.insert({
      name: 'half', containerId: null, image: IMAGE, network: 'spawner', port: 9000, routing: 'cookie', public: false,
      secretHash: null, healthCheck: null, idleTimeoutSec: null, labels: {}, createdAt: 0, lastWakeAt: null, lastActivityAt: null,
    });
    expect((await h.service.get('half')).status).toBe('creating');
    expect((await h.service.list()).map((v) => v.status)).toEqual(['creating']);
  });
});

describe('InstanceService.owned: never touches a container without our spawner.id', () => {
  function withForeignRow() {
    const h = harness();
    const id = addForeign(h.runtime, 'alice');
    // A row pointing at it (e.g. a copied database): the label check must still refuse it.
    h.instances.insert({
      name: 'alice', containerId: id, image: IMAGE, network: 'spawner', port: 9000, routing: 'cookie', public: false,
      secretHash: null, healthCheck: null, idleTimeoutSec: null, labels: {}, createdAt: 0, lastWakeAt: null, lastActivityAt: null,
    });
    return { ...h, id };
  }

  it('owned() returns null for the foreign container and info for ours', async () => {
    const h = withForeignRow();
    expect(await h.service.owned(h.id)).toBeNull();
    const { view } = await h.service.deploy(spec('bob'));
    expect((await h.service.owned(view.id as string))?.name).toBe('spawner-bob');
  });

  it('get() does not reveal it', async () => {
    const h = withForeignRow();
    const v = await h.service.get('alice');
    expect(v.status).toBe('gone');
    expect(v.health).toBe('none');
  });

  it('start/stop refuse it; remove drops only our row; the container is untouched', async () => {
    const h = withForeignRow();
    h.runtime.containers.get(h.id)!.state = 'exited';
    expect((await rejection(h.service.start('alice'))).code).toBe('not_found');
    h.runtime.containers.get(h.id)!.state = 'running';
    expect((await rejection(h.service.stop('alice'))).code).toBe('not_found');
    await h.service.remove('alice');
    expect(h.runtime.mutations()).toEqual([]);
    expect(h.runtime.containers.get(h.id)?.state).toBe('running');
    expect(h.instances.get('alice')).toBeUndefined();
  });

  it('list() does not show foreign containers as ours', async () => {
    const h = harness();
    addForeign(h.runtime, 'zed');
    await h.service.deploy(spec('alice'));
    expect((await h.service.list()).map((v) => v.name)).toEqual(['alice']);
  });

  it('a container with our id but without origin=spawner is not ours either', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('alice'));
    const c = h.runtime.containers.get(view.id as string)!;
    delete c.labels.origin;
    expect(await h.service.owned(c.id)).toBeNull();
    expect((await rejection(h.service.stop('alice'))).code).toBe('not_found');
  });
});
