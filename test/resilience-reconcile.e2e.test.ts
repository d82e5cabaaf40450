/**
 * The store stays true to Docker when containers are changed behind the spawner's back, and the
 * spawner never touches a container that is not its own, even one that carries `origin=spawner`
 * and an instance label. Rescans run every 2 s here and the idle reaper is active, so both had
 * every chance to touch what they must not. Parameterised by runtime (helpers/runtime-view.ts):
 * with E2E_RUNTIME=swarm "outside" is `docker service scale 0|1` and `docker service rm`, and the
 * foreign containers sit on the manager beside the spawner's own edge containers.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, RUN_LABEL, type Stack } from './helpers/stack.js';
import { outside, startRuntimeStack, teardownRuntimeStack, unitsOf } from './helpers/runtime-view.js';
import { IMAGES } from './helpers/docker-env.js';
import { pollUntil } from './helpers/poll.js';
import {
  deploy, eventsOf, followToApp, fromApp, send, statusOf, waitReachable, type LifecycleEvent,
} from './helpers/lifecycle.js';

let stack: Stack;
let token: string;

beforeAll(async () => {
  ({ stack, token } = await startRuntimeStack({
    env: { SPAWNER_RESCAN_SEC: '2', SPAWNER_IDLE_CHECK_SEC: '1', SPAWNER_IDLE_TIMEOUT_SEC: '3' },
  }));
});

afterAll(async () => teardownRuntimeStack(stack, 'reconcile'), 180_000);

async function waitEvent(name: string, kind: string): Promise<LifecycleEvent> {
  return pollUntil(`${name}: lifecycle event ${kind}`, async () =>
    (await eventsOf(stack, token, name)).find((e) => e.kind === kind), { timeoutMs: 15_000, intervalMs: 100 });
}

async function waitStatus(name: string, status: string): Promise<void> {
  await pollUntil(`${name} status ${status}`, async () => {
    const now = await statusOf(stack, token, name);
    if (now !== status) throw new Error(`status is ${now}`); // the timeout's message says what it was
    return true;
  }, { timeoutMs: 15_000, intervalMs: 100 });
}

describe('reconciliation with changes made outside the spawner', () => {
  it('reflects a container stopped and started outside (status and external_* events)', async () => {
    const inst = await deploy(stack, token, 'ext-a', { idleTimeout: 0 });
    await waitReachable(stack, inst);
    await outside.stop(inst.id);
    await waitStatus(inst.name, 'exited');
    expect(await waitEvent(inst.name, 'external_stop')).toMatchObject({ reason: 'external' });
    const list = await api(stack, token, 'GET', '/deploy');
    expect(list.body.instances.find((i: { name: string }) => i.name === inst.name)).toMatchObject({ status: 'exited', health: 'none' });

    await outside.start(inst.id);
    await waitStatus(inst.name, 'running');
    expect(await waitEvent(inst.name, 'external_start')).toMatchObject({ reason: 'external' });
    await waitReachable(stack, inst);
    // Our own stop is ours: no external_stop for it.
    const before = (await eventsOf(stack, token, inst.name)).filter((e) => e.kind === 'external_stop').length;
    expect((await api(stack, token, 'POST', `/deploy/${inst.name}/stop`)).body.status).toBe('exited');
    const after = await eventsOf(stack, token, inst.name);
    expect(after.filter((e) => e.kind === 'external_stop').length).toBe(before);
    expect(after.at(-1)).toMatchObject({ kind: 'stopped', reason: 'api' });
  });

  it('a container removed outside is `gone`; a wake for it gets a prompt 404 problem, not a hang; delete and redeploy work', async () => {
    const inst = await deploy(stack, token, 'ext-b', { idleTimeout: 0 });
    await waitReachable(stack, inst);
    await outside.remove(inst.id);
    await waitStatus(inst.name, 'gone');
    expect(await waitEvent(inst.name, 'external_remove')).toMatchObject({ reason: 'external' });
    const list = await api(stack, token, 'GET', '/deploy');
    expect(list.body.instances.find((i: { name: string }) => i.name === inst.name)?.status).toBe('gone');

    // Through Traefik (the router went with the container: the catch-all sends it to the listener).
    // Until Traefik drops the route, a request gets its 502/504 turned into a recovery 307 back to
    // the same URL (the wake finds the container gone): a client following it lands here too.
    const t0 = Date.now();
    const viaTraefik = await pollUntil('request reaches the listener', async () => {
      const r = await send(`${stack.web}/x`, { cookie: inst.cookie }, 10_000);
      if (r.status === 307) expect(r.headers.location).toBe('/x');
      return r.headers['x-spawner-wake'] && r.status !== 307 ? r : undefined;
    });
    const direct = await send(`${stack.wake}/x`, { cookie: inst.cookie }, 10_000);
    console.log(`[reconcile] wake for a removed container answered in ${Date.now() - t0} ms (incl. route removal)`);
    for (const r of [viaTraefik, direct]) {
      expect(r.status).toBe(404);
      expect(String(r.headers['content-type'])).toContain('application/problem+json');
      const problem = JSON.parse(r.body) as { code?: string; detail?: string };
      expect(JSON.stringify(problem)).toMatch(/removed outside the spawner/);
    }
    const t1 = Date.now();
    await send(`${stack.wake}/y`, { cookie: inst.cookie }, 10_000);
    expect(Date.now() - t1).toBeLessThan(2_000);
    // Start says the same; nothing was created in its place.
    const start = await api(stack, token, 'POST', `/deploy/${inst.name}/start`);
    expect(start.status).toBe(404);
    expect(await unitsOf(stack, 'ext-b')).toEqual([]);

    expect((await api(stack, token, 'DELETE', `/deploy/${inst.name}`)).status).toBe(200);
    const again = await deploy(stack, token, 'ext-b', { idleTimeout: 0 });
    await waitReachable(stack, again);
  });

  it('never starts, stops or removes a foreign container with origin=spawner and another spawner.id', async () => {
    const other = randomBytes(16).toString('hex');
    // Live, from before the containers exist (the engine keeps only its last 256 events).
    const seen: string[] = [];
    const stream = (await docker.getEvents({ filters: { type: ['container'], label: [`spawner.id=${other}`] } })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    let buf = '';
    stream.on('data', (c: Buffer) => {
      buf += c.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const e = JSON.parse(buf.slice(0, nl)) as { Action: string; Actor: { Attributes: { name?: string } } };
        buf = buf.slice(nl + 1);
        // Health checks run inside the container (exec_*): the engine's, not anyone's action.
        if (!e.Action.startsWith('exec_') && !e.Action.startsWith('health_status')) seen.push(`${e.Actor.Attributes.name}:${e.Action}`);
      }
    });
    const foreignLabels = {
      [RUN_LABEL]: stack.runId, origin: 'spawner', 'spawner.id': other, 'spawner.instance': 'foreign',
      // Would route if it were ours: Traefik's constraint (our spawner.id) keeps it out.
      'traefik.enable': 'true', 'traefik.http.routers.spawner-i-foreign.rule': 'PathPrefix(`/`)',
    };
    const make = (name: string) => docker.createContainer({
      name, Image: IMAGES.mockApp, Labels: foreignLabels, Env: ['IDLE=0'], HostConfig: { NetworkMode: stack.network, Init: true },
    });
    // Named exactly like one of our instances would be (container prefix + name).
    const running = await make(`${stack.runId}-foreign`);
    await running.start();
    const stopped = await make(`${stack.runId}-foreign-stopped`);
    const startedAt = (await running.inspect()).State.StartedAt;

    // An instance of ours next to it, idle, so the reaper acts in the same window.
    const mine = await deploy(stack, token, 'mine-c');
    await waitReachable(stack, mine);
    const myStop = await waitEvent(mine.name, 'stopped');
    expect(myStop.reason).toBe('idle');
    // Several rescans (every 2 s) and idle checks (every 1 s) later:
    await pollUntil('3 rescans', async () => (Date.now() - myStop.at > 6_500 ? true : undefined), { timeoutMs: 15_000, intervalMs: 250 });

    const ri = await running.inspect();
    expect(ri.State.Running).toBe(true);
    expect(ri.State.StartedAt).toBe(startedAt);
    expect((await stopped.inspect()).State.Status).toBe('created');
    const n = stack.runId;
    expect(seen.sort()).toEqual([`${n}-foreign-stopped:create`, `${n}-foreign:create`, `${n}-foreign:start`].sort());

    // Invisible and untouchable through the API, by name or by id.
    const list = await api(stack, token, 'GET', '/deploy');
    expect(list.body.instances.map((i: { name: string }) => i.name)).not.toContain('foreign');
    for (const ref of ['foreign', running.id, running.id.slice(0, 12), stopped.id]) {
      expect((await api(stack, token, 'GET', `/deploy/${ref}`)).status).toBe(404);
      expect((await api(stack, token, 'POST', `/deploy/${ref}/stop`)).status).toBe(404);
      expect((await api(stack, token, 'POST', `/deploy/${ref}/start`)).status).toBe(404);
      expect((await api(stack, token, 'DELETE', `/deploy/${ref}`)).status).toBe(404);
    }
    // A cookie naming it wakes nothing.
    expect((await send(`${stack.wake}/`, { cookie: 'instance=foreign' })).status).toBe(401);
    expect((await stopped.inspect()).State.Status).toBe('created');
    expect((await running.inspect()).State.Running).toBe(true);

    // And our own instance still wakes normally.
    const back = await followToApp(stack, mine, '/');
    expect(fromApp(back.final, mine)).toBe(true);
    expect(seen.length).toBe(3);
    stream.destroy();
  });
});
