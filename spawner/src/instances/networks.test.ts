/**
 * Per-instance networks in the domain, against FakeRuntime: a deploy makes the instance's own
 * network and puts the edge containers (Traefik, the spawner) on it before the container exists;
 * DELETE and every failure take it away again; reconciliation removes orphans, repairs a network
 * removed outside, and puts a recreated Traefik back on every instance network.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Config } from '../config.js';
import { type Database } from '../store/db.js';
import { memoryDeps, rejection } from '../testing/fixtures.js';
import { Reconciler } from './reconcile.js';
import { InstanceService } from './service.js';
import type { DeploySpec } from './types.js';

const ID = 'sp-test';
const dbs: Database[] = [];
afterEach(() => { for (const db of dbs.splice(0)) db.close(); });

function harness(over: Partial<Config> = {}) {
  const deps = memoryDeps({ cfg: over, spawnerId: ID, now: () => 42 });
  dbs.push(deps.db);
  const service = new InstanceService(deps);
  const reconciler = new Reconciler(deps, service);
  const rt = deps.runtime;
  // Traefik (labelled edge) and the spawner's own container (found as "self") on the control network.
  const traefik = rt.addContainer('traefik', { 'spawner.edge': 'true', 'spawner.id': ID }, ['spawner']);
  rt.self = rt.addContainer('the-spawner', {}, ['spawner']);
  return { ...deps, rt, service, reconciler, traefik, self: rt.self };
}

const spec = (name: string, over: Partial<DeploySpec> = {}): DeploySpec => ({
  name, image: 'mock-app:latest', network: 'spawner', port: 9000, routing: 'cookie', public: false, egress: true,
  labels: {}, traefikLabels: {}, env: {}, limits: { memoryMb: 256, cpus: 0.5, pids: 256 }, ...over,
});
const NET = 'spawner-spawner-alice';

describe('deploy and delete', () => {
  it('the instance is on its own network only; Traefik and the spawner joined it before the container was created', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('alice'));
    const id = view.id as string;
    expect(h.rt.attachedTo(id)).toEqual([NET]);
    expect(h.rt.attachedTo(h.traefik)).toEqual(['spawner', NET]);
    expect(h.rt.attachedTo(h.self)).toEqual(['spawner', NET]);
    const ops = h.rt.calls.map((c) => c.op);
    expect(ops.lastIndexOf('connect')).toBeLessThan(ops.indexOf('create'));
    const net = h.rt.nets.get(NET);
    expect(net?.labels).toEqual({ origin: 'spawner', 'spawner.id': ID, 'spawner.instance': 'alice' });
    expect(net?.internal).toBe(false);
    expect(h.rt.containers.get(id)?.labels['traefik.docker.network']).toBe(NET);
  });

  it('egress false makes the network internal, and the container remembers it', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('alice', { egress: false }));
    expect(h.rt.nets.get(NET)?.internal).toBe(true);
    expect(h.rt.containers.get(view.id as string)?.labels['spawner.egress']).toBe('false');
  });

  it('an allowed extra network is joined in addition to the own network, never instead', async () => {
    const h = harness({ allowedNetworks: ['shared-db'] });
    h.rt.addNetwork('shared-db');
    const { view } = await h.service.deploy(spec('alice', { network: 'shared-db' }));
    expect(h.rt.attachedTo(view.id as string)).toEqual(['shared-db', NET]);
  });

  it('subnets come from the configured pool, one /28 each, another one when the engine refuses an overlap', async () => {
    const h = harness({ instanceSubnets: '10.208.0.0/24', instanceSubnetPrefix: 28 });
    await h.service.deploy(spec('alice'));
    const first = h.rt.nets.get(NET)?.subnet as string;
    expect(first).toMatch(/^10\.208\.0\.\d+\/28$/);
    // Another installation took bob's first choice; bob gets the next free one.
    const h2 = harness({ instanceSubnets: '10.208.0.0/24', instanceSubnetPrefix: 28 });
    await h2.service.deploy(spec('bob'));
    const bobFirst = h2.rt.nets.get('spawner-spawner-bob')?.subnet as string;
    const h3 = harness({ instanceSubnets: '10.208.0.0/24', instanceSubnetPrefix: 28 });
    h3.rt.takenSubnets.add(bobFirst);
    await h3.service.deploy(spec('bob'));
    const bobNext = h3.rt.nets.get('spawner-spawner-bob')?.subnet;
    expect(bobNext).toMatch(/^10\.208\.0\.\d+\/28$/);
    expect(bobNext).not.toBe(bobFirst);
  });

  it('a full pool is a 503 and leaves no row, network or container', async () => {
    const h = harness({ instanceSubnets: '10.208.0.0/28', instanceSubnetPrefix: 28 });
    h.rt.takenSubnets.add('10.208.0.0/28');
    const err = await rejection(h.service.deploy(spec('alice')));
    expect(err.code).toBe('runtime_unavailable');
    expect(h.instances.list()).toEqual([]);
    expect(h.rt.nets.has(NET)).toBe(false);
    expect(h.rt.mutations()).toEqual([]);
  });

  it('a start failure removes the container, the network and the row', async () => {
    const h = harness();
    h.rt.failStart = true;
    await rejection(h.service.deploy(spec('alice')));
    expect(h.rt.nets.has(NET)).toBe(false);
    expect(h.instances.list()).toEqual([]);
    expect([...h.rt.containers.values()].map((c) => c.name).sort()).toEqual(['the-spawner', 'traefik']);
    expect(h.rt.attachedTo(h.traefik)).toEqual(['spawner']);
  });

  it('a network of the same name that is not ours is a conflict, and is left alone', async () => {
    const h = harness();
    h.rt.addNetwork(NET, { 'spawner.id': 'someone-else' });
    const err = await rejection(h.service.deploy(spec('alice')));
    expect(err.code).toBe('conflict');
    expect(h.rt.nets.get(NET)?.labels['spawner.id']).toBe('someone-else');
  });

  it('DELETE removes the container and its network; the edges leave it', async () => {
    const h = harness();
    await h.service.deploy(spec('alice'));
    await h.service.remove('alice');
    expect(h.rt.nets.has(NET)).toBe(false);
    expect(h.rt.attachedTo(h.traefik)).toEqual(['spawner']);
  });
});

describe('edge aliases', () => {
  it("an edge takes the names of its spawner.edge.aliases label on each instance network (hostile names dropped)", async () => {
    const h = harness();
    const proxy = h.rt.addContainer('proxy', { 'spawner.edge': 'true', 'spawner.id': ID, 'spawner.edge.aliases': 'traefik, Bad_Name ,a..b,edge-2' }, ['spawner']);
    await h.service.deploy(spec('alice'));
    expect(h.rt.aliases.get(`${NET} ${proxy}`)).toEqual(['traefik', 'edge-2']);
    expect(h.rt.aliases.get(`${NET} ${h.traefik}`)).toBeUndefined();
  });
});

describe('crash safety of DELETE', () => {
  it('the row goes first: a DELETE cut off before the container is removed leaves nothing after a rescan', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('alice'));
    const remove = h.rt.remove.bind(h.rt);
    h.rt.remove = async () => { throw new Error('engine went away (as a kill -9 at this point)'); };
    await expect(h.service.remove('alice')).rejects.toThrow();
    expect(h.instances.get('alice')).toBeUndefined();
    h.rt.remove = remove;
    await h.reconciler.rescan();
    expect(h.rt.containers.has(view.id as string)).toBe(false);
    expect(h.rt.nets.has(NET)).toBe(false);
  });
});

describe('reconciliation of networks', () => {
  it('removes a network whose instance has no row (a crash mid deploy or mid delete)', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('alice'));
    // What a kill -9 between the row's delete and the network's removal leaves.
    await h.rt.remove(view.id as string);
    h.instances.delete('alice');
    await h.reconciler.rescan();
    expect(h.rt.nets.has(NET)).toBe(false);
    expect(h.events.list({ instance: 'alice' }).map((e) => e.reason)).toContain('network without row');
  });

  it('never removes a network of another installation, whatever its labels otherwise', async () => {
    const h = harness();
    h.rt.addNetwork('spawner-spawner-x', { origin: 'spawner', 'spawner.id': 'other', 'spawner.instance': 'x' });
    await h.reconciler.rescan();
    expect(h.rt.nets.has('spawner-spawner-x')).toBe(true);
  });

  it('makes again a network removed outside under a stopped instance, which then starts', async () => {
    const h = harness();
    const { view } = await h.service.deploy(spec('alice', { egress: false }));
    await h.service.stop('alice');
    // Docker refuses while anything running is on it: the operator took the edges off first.
    for (const edge of [h.traefik, h.self]) await h.rt.disconnect(NET, edge);
    h.rt.dropNetwork(NET);
    await expect(h.rt.start(view.id as string)).rejects.toThrow(/not found/);
    await h.reconciler.rescan();
    expect(h.rt.nets.get(NET)?.internal).toBe(true);
    expect(h.rt.attachedTo(view.id as string)).toEqual([NET]);
    expect(h.rt.attachedTo(h.traefik)).toEqual(['spawner', NET]);
    await h.service.start('alice');
    expect((await h.service.get('alice')).status).toBe('running');
    expect(h.events.list({ instance: 'alice' }).map((e) => e.kind)).toContain('network_repaired');
  });

  it('puts a recreated Traefik back on every instance network', async () => {
    const h = harness();
    await h.service.deploy(spec('alice'));
    await h.service.deploy(spec('bob'));
    await h.rt.remove(h.traefik);
    const again = h.rt.addContainer('traefik', { 'spawner.edge': 'true', 'spawner.id': ID }, ['spawner']);
    await h.reconciler.rescan();
    expect(h.rt.attachedTo(again)).toEqual(['spawner', NET, 'spawner-spawner-bob']);
  });

  it('a rescan never puts an edge back on the network of an instance whose lock is held (a DELETE taking it away)', async () => {
    // The DELETE has taken Traefik off to remove the network; Docker refuses the removal of a
    // network with an endpoint on it, so a rescan reconnecting it meanwhile left the network behind.
    const h = harness();
    await h.service.deploy(spec('alice'));
    let release!: () => void;
    const held = h.service.locks.run('alice', () => new Promise<void>((r) => { release = r; }));
    await h.rt.disconnect(NET, h.traefik);
    await h.reconciler.rescan();
    expect(h.rt.attachedTo(h.traefik)).toEqual(['spawner']);
    release();
    await held;
    await h.reconciler.rescan(); // the lock is free and the row still there: back on it
    expect(h.rt.attachedTo(h.traefik)).toEqual(['spawner', NET]);
  });

  it('an edge of another installation is never connected', async () => {
    const h = harness();
    const foreign = h.rt.addContainer('their-traefik', { 'spawner.edge': 'true', 'spawner.id': 'other' }, ['spawner']);
    await h.service.deploy(spec('alice'));
    await h.reconciler.rescan();
    expect(h.rt.attachedTo(foreign)).toEqual(['spawner']);
  });
});
