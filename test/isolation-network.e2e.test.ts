/**
 * Instance networks on real Docker and real Traefik, beyond the hostile tenant's probes:
 * - egress: a default instance reaches a stand-in "internet" (a container the test made on a
 *   network of its own, published only on that network's gateway address, i.e. reachable only by
 *   routing out of the instance's network); an `"egress": false` instance cannot;
 * - a Traefik that is on none of the instance networks (as a recreated one) is put back on all of
 *   them when it starts, and routes again;
 * - a network removed outside under a stopped instance is made again by the rescan; wakes work;
 * - `kill -9` of the spawner in the middle of a deploy or of a DELETE leaves no orphan network,
 *   container or row after the restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { api, docker, login, RUN_LABEL, startStack, type Stack } from './helpers/stack.js';
import { IMAGES } from './helpers/docker-env.js';
import { pollUntil } from './helpers/poll.js';
import { deploy, eventsOf, followToApp, fromApp, waitReachable } from './helpers/lifecycle.js';
import { probeFrom } from './helpers/tenant.js';

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack({ env: { SPAWNER_RESCAN_SEC: '2' } });
  token = await login(stack);
}, 120_000);

afterAll(async () => {
  if (stack) await stack.teardown();
});

const ownNet = (name: string) => `${stack.network}-${stack.runId}-${name}`;
const networksOf = async (name: string) => docker.listNetworks({ filters: { label: [`spawner.id=${stack.spawnerId}`, `spawner.instance=${name}`] } });
const containersOf = async (name: string) => docker.listContainers({ all: true, filters: { label: [`spawner.id=${stack.spawnerId}`, `spawner.instance=${name}`] } });

async function inspectNet(name: string): Promise<Docker.NetworkInspectInfo | null> {
  try {
    return await docker.getNetwork(name).inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
}

describe('egress', () => {
  it('a default instance reaches the stand-in internet; an "egress": false instance has no route to it', async () => {
    const inet = await docker.createNetwork({ Name: `${stack.network}-inet`, Labels: { [RUN_LABEL]: stack.runId }, CheckDuplicate: true });
    const gw = String((await inet.inspect()).IPAM?.Config?.[0]?.Gateway);
    const site = await docker.createContainer({
      name: `${stack.network}-inet-site`, Image: IMAGES.mockApp, Env: ['IDLE=0'], Labels: { [RUN_LABEL]: stack.runId },
      ExposedPorts: { '9000/tcp': {} },
      HostConfig: { NetworkMode: inet.id, PortBindings: { '9000/tcp': [{ HostIp: gw, HostPort: '' }] } },
    });
    await site.start();
    const port = Number((await site.inspect()).NetworkSettings.Ports['9000/tcp']?.[0]?.HostPort);
    const open = await deploy(stack, token, 'egress-on');
    const closed = await deploy(stack, token, 'egress-off', { egress: false });
    expect((await inspectNet(ownNet('egress-on')))?.Internal).toBe(false);
    expect((await inspectNet(ownNet('egress-off')))?.Internal).toBe(true);
    const url = { kind: 'http' as const, url: `http://${gw}:${port}/` };
    await pollUntil('stand-in internet up', async () => ((await probeFrom(open.id, [url]))[0] === 'http:200' ? true : undefined), { timeoutMs: 20_000 });
    expect(await probeFrom(closed.id, [url])).not.toEqual(['http:200']);
    // Both are still routed from outside.
    for (const inst of [open, closed]) expect(fromApp((await followToApp(stack, inst)).final, inst)).toBe(true);
  });
});

describe('edges and repairs', () => {
  it('a Traefik on none of the instance networks (as a recreated one) is put back on all of them when it starts', async () => {
    const a = await deploy(stack, token, 'edge-a');
    const b = await deploy(stack, token, 'edge-b', { routing: 'path' });
    await waitReachable(stack, a);
    await stack.stopTraefik();
    for (const n of [ownNet('edge-a'), ownNet('edge-b')]) await docker.getNetwork(n).disconnect({ Container: stack.traefik.id, Force: true });
    await stack.startTraefik();
    await pollUntil('traefik back on both instance networks', async () => {
      const on = Object.keys((await stack.traefik.inspect()).NetworkSettings.Networks);
      return on.includes(ownNet('edge-a')) && on.includes(ownNet('edge-b')) ? true : undefined;
    }, { timeoutMs: 20_000 });
    await waitReachable(stack, a);
    await waitReachable(stack, b, 30_000, `/app/${b.name}/`);
  });

  it('a network removed outside under a stopped instance is made again; the next wake works', async () => {
    const inst = await deploy(stack, token, 'netgone');
    await waitReachable(stack, inst);
    expect((await api(stack, token, 'POST', `/deploy/${inst.name}/stop`)).status).toBe(200);
    const net = docker.getNetwork(ownNet(inst.name));
    const before = (await net.inspect()).Id;
    // The periodic rescan puts the edges back on every instance network it finds, so an outside
    // removal may meet a freshly reconnected edge ("active endpoints"): try again, as an operator would.
    await pollUntil('network removed outside', async () => {
      for (const c of [stack.traefik.id, stack.spawner.id]) await net.disconnect({ Container: c, Force: true }).catch(() => undefined);
      await net.remove();
      return true;
    }, { timeoutMs: 20_000 });
    await pollUntil('network made again', async () => (
      (await eventsOf(stack, token, inst.name)).some((e) => e.kind === 'network_repaired') ? true : undefined
    ), { timeoutMs: 20_000 });
    const now = await inspectNet(ownNet(inst.name));
    expect(now?.Id).not.toBe(before);
    expect(Object.values(now?.Containers ?? {}).map((c) => c.Name).sort()).toEqual([`${stack.network}-spawner`, `${stack.network}-traefik`]);
    const { final } = await followToApp(stack, inst);
    expect(fromApp(final, inst)).toBe(true);
  });
});

describe('kill -9 in the middle of a deploy or a DELETE', () => {
  /** Kills the spawner on the first Docker event of `type`/`action` for the instance. */
  /** Resolves once subscribed; `fired` (wrapped: an async function would adopt it) after the kill. */
  async function killOn(type: 'network' | 'container', action: string, name: string): Promise<{ fired: Promise<void> }> {
    const filters = type === 'network'
      ? { type: ['network'], event: [action], network: [ownNet(name)] }
      : { type: ['container'], event: [action], label: [`spawner.instance=${name}`] };
    const stream = (await docker.getEvents({ filters } as Docker.GetEventsOptions)) as unknown as NodeJS.ReadableStream & { destroy(): void };
    const fired = (async () => {
      await new Promise<void>((resolve) => stream.once('data', () => resolve()));
      await stack.spawner.kill({ signal: 'SIGKILL' });
      stream.destroy();
    })();
    return { fired };
  }

  async function consistent(name: string): Promise<string> {
    const row = await api(stack, token, 'GET', `/deploy/${name}`);
    const nets = await networksOf(name);
    const cs = await containersOf(name);
    if (row.status === 200) {
      expect(cs.map((c) => c.Id)).toEqual([row.body.id]);
      expect(nets.map((n) => n.Name)).toEqual([ownNet(name)]);
      return 'kept';
    }
    expect(row.status).toBe(404);
    expect([cs.length, nets.length]).toEqual([0, 0]);
    return 'gone';
  }

  it.each([
    ['deploy', 'network', 'create'], ['deploy', 'network', 'connect'], ['deploy', 'container', 'create'],
    ['delete', 'container', 'destroy'], ['delete', 'network', 'disconnect'],
  ] as const)('%s, killed on Docker\'s %s %s event: no orphan network, container or row', async (op, type, action) => {
    const name = `k9-${op}-${type[0]}${action}`;
    if (op === 'delete') await deploy(stack, token, name);
    const { fired } = await killOn(type, action, name);
    const req = op === 'deploy'
      ? api(stack, token, 'POST', '/deploy', { name, image: IMAGES.mockApp, envs: { IDLE: '0' } }).catch(() => undefined)
      : api(stack, token, 'DELETE', `/deploy/${name}`).catch(() => undefined);
    await Promise.all([req, fired]);
    await stack.startSpawner();
    token = await login(stack);
    // The start-up rescan ran before /healthz; give the periodic one a round for what it defers.
    const outcome = await pollUntil(`${name} consistent`, async () => {
      try {
        return await consistent(name);
      } catch {
        return undefined;
      }
    }, { timeoutMs: 15_000 });
    if (op === 'delete') expect(outcome).toBe('gone');
    if (outcome === 'kept') {
      expect((await api(stack, token, 'DELETE', `/deploy/${name}`)).status).toBe(200);
      expect(await consistent(name)).toBe('gone');
    }
  });
});
