/**
 * Managed data volumes in the domain, against FakeRuntime: the volume is named after the instance
 * and labelled as ours, mounted into that instance's container only, kept by DELETE (retained)
 * unless purged, mounted again only when a deploy asks, and never removed by a failure or a
 * rescan unless this very deploy made it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Database } from '../store/db.js';
import { memoryDeps, rejection } from '../testing/fixtures.js';
import { Reconciler } from './reconcile.js';
import { InstanceService } from './service.js';
import type { DeploySpec } from './types.js';

const ID = 'sp-test';
const VOL = 'spawner-alice-data';
const OURS = { origin: 'spawner', 'spawner.id': ID, 'spawner.instance': 'alice' };
const dbs: Database[] = [];
afterEach(() => { for (const db of dbs.splice(0)) db.close(); });

function harness() {
  const deps = memoryDeps({ spawnerId: ID });
  dbs.push(deps.db);
  const service = new InstanceService(deps);
  return { ...deps, rt: deps.runtime, service, reconciler: new Reconciler(deps, service) };
}

const spec = (name: string, volume?: DeploySpec['volume']): DeploySpec => ({
  name, image: 'mock-app:latest', network: 'spawner', port: 9000, routing: 'cookie', public: false, egress: true,
  labels: {}, traefikLabels: {}, env: {}, limits: { memoryMb: 256, cpus: 0.5, pids: 256 }, ...(volume ? { volume } : {}),
});
const kinds = (h: ReturnType<typeof harness>, name = 'alice') => h.events.list({ instance: name, limit: 100 }).map((e) => e.kind).filter((k) => k.startsWith('volume_'));
const mountsOf = (h: ReturnType<typeof harness>, id: string | null) => h.rt.containers.get(id as string)?.spec.mounts;

describe('deploy with a volume', () => {
  it('creates a volume named after the instance, labelled as ours, mounted at the path; the view shows it', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('alice', { path: '/data' }));
    expect(h.rt.volumes.byName.get(VOL)?.labels).toEqual(OURS);
    expect(mountsOf(h, view.id)).toEqual([{ type: 'volume', source: VOL, target: '/data' }]);
    expect(view.volume).toEqual({ path: '/data', name: VOL, status: 'attached' });
    expect((await h.service.get('alice')).volume).toEqual(view.volume);
    expect((await h.service.list())[0]?.volume).toEqual(view.volume);
    expect(kinds(h)).toEqual(['volume_created']);
    // The volume exists before the container that mounts it.
    const ops = h.rt.calls.map((c) => c.op);
    expect(ops.indexOf('createVolume')).toBeLessThan(ops.indexOf('create'));
  });

  it('without the option: no volume, no mounts', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('alice'));
    expect(mountsOf(h, view.id)).toEqual([]);
    expect(view.volume).toBeNull();
    expect(h.rt.volumes.byName.size).toBe(0);
  });

  it('a second instance gets its own volume, never the first one', async () => {
    const h = harness();
    await h.service.deploy(spec('alice', { path: '/data' }));
    const { view } = await h.service.deploy(spec('alice2', { path: '/data' }));
    expect(mountsOf(h, view.id)).toEqual([{ type: 'volume', source: 'spawner-alice2-data', target: '/data' }]);
  });

  it('stop and start keep the same container and mount', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('alice', { path: '/data' }));
    await h.service.stop('alice');
    const again = await h.service.start('alice');
    expect(again.id).toBe(view.id);
    expect(mountsOf(h, again.id)).toEqual([{ type: 'volume', source: VOL, target: '/data' }]);
    expect(h.rt.calls.filter((c) => c.op === 'createVolume')).toHaveLength(1);
  });
});

describe('delete, retain, reattach, purge', () => {
  it('DELETE keeps the volume (retained, listed); a redeploy without reuse is refused before anything is made', async () => {
    const h = harness();
    await h.service.deploy(spec('alice', { path: '/data' }));
    expect(await h.service.remove('alice')).toEqual({ name: VOL, status: 'retained' });
    expect(h.rt.volumes.byName.has(VOL)).toBe(true);
    expect(await h.service.volumes.list()).toEqual([{ instance: 'alice', name: VOL, status: 'retained', path: null, createdAt: expect.any(String) }]);
    const before = h.rt.calls.length;
    const e = await rejection(h.service.deploy(spec('alice', { path: '/data' })));
    expect(e.code).toBe('volume_retained');
    expect(e.status).toBe(409);
    expect(e.field).toBe('volume.reuse');
    expect(e.message).toMatch(/"reuse": true.*DELETE \/volumes\/alice/);
    expect(h.rt.calls.slice(before).map((c) => c.op)).not.toContain('create');
    expect(h.rt.networkMutations().filter((m) => m.startsWith('createNetwork'))).toHaveLength(1);
    expect(h.instances.get('alice')).toBeUndefined();
    expect(kinds(h)).toEqual(['volume_created', 'volume_retained']);
  });

  it('with reuse, the same volume is mounted again (not created)', async () => {
    const h = harness();
    await h.service.deploy(spec('alice', { path: '/data' }));
    await h.service.remove('alice');
    const { view } = await h.service.deploy(spec('alice', { path: '/srv', reuse: true }));
    expect(mountsOf(h, view.id)).toEqual([{ type: 'volume', source: VOL, target: '/srv' }]);
    expect(h.rt.calls.filter((c) => c.op === 'createVolume')).toHaveLength(1);
    expect(kinds(h)).toEqual(['volume_created', 'volume_retained', 'volume_reattached']);
    expect((await h.service.volumes.list())[0]?.status).toBe('attached');
  });

  it('reuse without a retained volume simply creates one', async () => {
    const h = harness();
    await h.service.deploy(spec('alice', { path: '/data', reuse: true }));
    expect(kinds(h)).toEqual(['volume_created']);
  });

  it('DELETE ?purge removes the volume after the container', async () => {
    const h = harness();
    await h.service.deploy(spec('alice', { path: '/data' }));
    expect(await h.service.remove('alice', true)).toEqual({ name: VOL, status: 'removed' });
    expect(h.rt.volumes.byName.has(VOL)).toBe(false);
    const ops = h.rt.calls.map((c) => c.op);
    expect(ops.lastIndexOf('remove')).toBeLessThan(ops.indexOf('removeVolume'));
    expect(kinds(h)).toEqual(['volume_created', 'volume_removed']);
    expect(await h.service.volumes.list()).toEqual([]);
  });

  it('DELETE of an instance without a volume leaves a retained volume of its name alone, even with purge', async () => {
    const h = harness();
    await h.service.deploy(spec('alice', { path: '/data' }));
    await h.service.remove('alice');
    await h.service.deploy(spec('alice'));
    expect(await h.service.remove('alice', true)).toBeNull();
    expect(h.rt.volumes.byName.has(VOL)).toBe(true);
  });

  it('DELETE /volumes/:name removes a retained volume; 409 while the instance exists; 404 for none', async () => {
    const h = harness();
    await h.service.deploy(spec('alice', { path: '/data' }));
    const busy = await rejection(h.service.volumes.removeRetained('alice'));
    expect(busy.code).toBe('conflict');
    expect(busy.message).toMatch(/purge=true/);
    await h.service.remove('alice');
    await h.service.volumes.removeRetained('alice');
    expect(h.rt.volumes.byName.has(VOL)).toBe(false);
    expect(kinds(h)).toEqual(['volume_created', 'volume_retained', 'volume_removed']);
    expect((await rejection(h.service.volumes.removeRetained('alice'))).code).toBe('not_found');
  });

  it('a reattaching deploy and DELETE /volumes/:name of that name take turns: never a deploy on a removed volume', async () => {
    const h = harness();
    await h.service.deploy(spec('alice', { path: '/data' }));
    await h.service.remove('alice');
    const [deployed, removed] = await Promise.allSettled([
      h.service.deploy(spec('alice', { path: '/data', reuse: true })), h.service.volumes.removeRetained('alice'),
    ]);
    expect(deployed.status).toBe('fulfilled');
    expect(removed.status === 'rejected' && (removed.reason as { code?: string }).code).toBe('conflict');
    expect(h.rt.volumes.byName.has(VOL)).toBe(true);
    expect(kinds(h)).toEqual(['volume_created', 'volume_retained', 'volume_reattached']);
  });
});

describe('volumes that are not ours', () => {
  it.each([
    ['unlabelled', {}],
    ['another installation', { ...OURS, 'spawner.id': 'sp-other' }],
    ['another instance', { ...OURS, 'spawner.instance': 'bob' }],
  ])('a volume of that name (%s) is never mounted, reused or removed', async (_why, labels) => {
    const h = harness();
    h.rt.volumes.add(VOL, labels);
    for (const reuse of [false, true]) {
      const e = await rejection(h.service.deploy(spec('alice', { path: '/data', reuse })));
      expect(e.code).toBe('conflict');
      expect(e.field).toBe('volume');
    }
    expect(h.rt.mutations()).toEqual([]);
    expect(h.instances.get('alice')).toBeUndefined();
    expect((await rejection(h.service.volumes.removeRetained('alice'))).code).toBe('not_found');
    expect(h.rt.volumes.byName.get(VOL)?.labels).toEqual(labels);
    expect(await h.service.volumes.list()).toEqual([]);
  });

  it('a volume of the name that appears between the check and the create is not mounted nor removed', async () => {
    const h = harness();
    const create = h.rt.createVolume.bind(h.rt);
    h.rt.createVolume = async (s) => { h.rt.volumes.add(s.name, {}); return create(s); };
    const e = await rejection(h.service.deploy(spec('alice', { path: '/data' })));
    expect(e.code).toBe('conflict');
    expect(h.rt.volumes.byName.has(VOL)).toBe(true);
    expect(h.rt.calls.map((c) => c.op)).not.toContain('create');
    expect(h.rt.calls.map((c) => c.op)).not.toContain('removeVolume');
  });
});

describe('nothing half-created', () => {
  it('a container create that fails after the volume removes the volume, the network and the row', async () => {
    const h = harness();
    h.rt.failCreate = true;
    expect((await rejection(h.service.deploy(spec('alice', { path: '/data' })))).code).toBe('runtime_unavailable');
    expect(h.rt.volumes.byName.has(VOL)).toBe(false);
    expect(h.rt.nets.has('spawner-spawner-alice')).toBe(false);
    expect(h.instances.get('alice')).toBeUndefined();
    expect(h.volumes.list()).toEqual([]);
    expect(kinds(h)).toEqual(['volume_created', 'volume_removed']);
  });

  it('a start that fails removes the container first, then the volume it made', async () => {
    const h = harness();
    h.rt.failStart = true;
    await rejection(h.service.deploy(spec('alice', { path: '/data' })));
    expect(h.rt.containers.size).toBe(0);
    expect(h.rt.volumes.byName.has(VOL)).toBe(false);
  });

  it('a failed deploy never removes a reattached volume', async () => {
    const h = harness();
    await h.service.deploy(spec('alice', { path: '/data' }));
    await h.service.remove('alice');
    h.rt.failCreate = true;
    await rejection(h.service.deploy(spec('alice', { path: '/data', reuse: true })));
    h.rt.failStart = true;
    h.rt.failCreate = false;
    await rejection(h.service.deploy(spec('alice', { path: '/data', reuse: true })));
    expect(h.rt.volumes.byName.get(VOL)?.labels).toEqual(OURS);
    expect(h.rt.calls.map((c) => c.op)).not.toContain('removeVolume');
    expect((await h.service.volumes.list())[0]?.status).toBe('retained');
  });

  it('a volume create that fails leaves no row and no network', async () => {
    const h = harness();
    h.rt.volumes.failCreate = true;
    await rejection(h.service.deploy(spec('alice', { path: '/data' })));
    expect(h.instances.get('alice')).toBeUndefined();
    expect(h.rt.nets.has('spawner-spawner-alice')).toBe(false);
    expect(h.rt.containers.size).toBe(0);
  });
});

describe('reconciliation', () => {
  it('an owned volume without a row is listed as retained and never removed', async () => {
    const h = harness();
    h.rt.volumes.add(VOL, OURS);
    await h.reconciler.rescan();
    await h.reconciler.rescan();
    expect(h.rt.volumes.byName.has(VOL)).toBe(true);
    expect(h.rt.calls.map((c) => c.op)).not.toContain('removeVolume');
    expect((await h.service.volumes.list()).map((v) => [v.instance, v.status])).toEqual([['alice', 'retained']]);
  });

  it('a row whose volume vanished is flagged once: an event, and the view says missing', async () => {
    const h = harness();
    await h.service.deploy(spec('alice', { path: '/data' }));
    h.rt.volumes.byName.delete(VOL); // removed outside the spawner
    await h.reconciler.rescan();
    await h.reconciler.rescan();
    expect(kinds(h)).toEqual(['volume_created', 'volume_missing']);
    expect((await h.service.get('alice')).volume).toEqual({ path: '/data', name: VOL, status: 'missing' });
    expect((await h.service.volumes.list()).map((v) => [v.instance, v.status])).toEqual([['alice', 'missing']]);
  });

  /** As after kill -9 between the volume and the container: the row has no container id, no container. */
  async function crashBeforeContainer(h: ReturnType<typeof harness>, name: string) {
    const id = h.instances.get(name)?.containerId as string;
    await h.rt.remove(id);
    h.instances.setContainerId(name, null);
    await h.reconciler.rescan();
    expect(h.instances.get(name)).toBeUndefined();
  }

  it('a deploy cut short before its container removes the volume it made: nothing was ever mounted', async () => {
    const h = harness();
    await h.service.deploy(spec('alice', { path: '/data' }));
    await crashBeforeContainer(h, 'alice');
    expect(h.rt.volumes.byName.has(VOL)).toBe(false);
    expect(await h.service.volumes.list()).toEqual([]);
  });

  it('a reattaching deploy cut short keeps the volume (retained)', async () => {
    const h = harness();
    await h.service.deploy(spec('alice', { path: '/data' }));
    await h.service.remove('alice');
    await h.service.deploy(spec('alice', { path: '/data', reuse: true }));
    await crashBeforeContainer(h, 'alice');
    expect(h.rt.volumes.byName.has(VOL)).toBe(true);
    expect((await h.service.volumes.list()).map((v) => v.status)).toEqual(['retained']);
  });
});
