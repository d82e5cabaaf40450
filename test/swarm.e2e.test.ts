/**
 * SPAWNER_RUNTIME=swarm on a real one-node Docker Swarm with a real Traefik (swarm provider).
 *
 * Needs the engine of scripts/ensure-swarm-engine.sh and the suite run inside its namespace:
 *   scripts/ensure-swarm-engine.sh   # dockerd in netns spawner-swarm, swarm init, images
 *   nsenter --net=/run/netns/spawner-swarm env DOCKER_HOST=unix:///run/spawner-swarm/docker.sock \
 *     npx vitest run test/swarm.e2e.test.ts
 * Against an engine that is no swarm manager every test here is reported SKIPPED, with the reason
 * in its name: never counted as passed.
 *
 * Traefik and the spawner are plain containers on the manager (the stack helper's); instances are
 * services. Traefik reads them with its swarm provider (refreshSeconds=1: it polls, Swarm has no
 * task events) and the spawner's own catch-all with its docker provider.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, instanceNetwork, RUN_LABEL, type Stack } from './helpers/stack.js';
import { overlaps } from '../spawner/src/runtime/cidr.js';
import { candidates, parsePool } from '../spawner/src/instances/subnets.js';
import { pollUntil } from './helpers/poll.js';
import { IMAGES } from './helpers/docker-env.js';
import { pairs, probeFrom, reached, type Probe } from './helpers/tenant.js';
import {
  deploy, eventsOf, followToApp, fromApp, openWebSocket, pause, statusOf, waitLogLine, waitReachable, type Instance,
} from './helpers/lifecycle.js';
import {
  REFRESH_SECONDS, routerGone, service, startSwarmStack, swarmManager, tasksOf, teardownSwarmStack,
} from './helpers/swarm.js';

/** Measured too when the swarm engine has it (SPAWNER_SWARM_EXTRA_IMAGES=mock-app:nohc). */
const NOHC_IMAGE = 'mock-app:nohc';

const skipReason = await swarmManager();
if (skipReason) console.warn(`[swarm.e2e] SKIPPED: ${skipReason}`);

describe.skipIf(skipReason !== null)(`swarm runtime${skipReason ? ` (SKIPPED: ${skipReason})` : ''}`, () => {
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    ({ stack, token } = await startSwarmStack());
  }, 120_000);

  afterAll(async () => teardownSwarmStack(stack, 'swarm.e2e'), 180_000);

  let inst: Instance;
  const svcName = () => `${stack.runId}-${inst.name}`;

  it('deploys an instance as a hardened 1-replica dnsrr service that answers through Traefik', async () => {
    inst = await deploy(stack, token, 'sw1');
    await waitReachable(stack, inst, 60_000);
    const s = await service(svcName());
    expect(s.Spec.Mode.Replicated.Replicas).toBe(1);
    expect(s.Spec.EndpointSpec?.Mode).toBe('dnsrr');
    expect(s.Spec.Labels).toMatchObject({ 'spawner.id': stack.spawnerId, 'traefik.enable': 'true', 'traefik.swarm.network': `${stack.network}-${svcName()}` });
    const [task] = (await tasksOf(svcName())).filter((t) => t.DesiredState === 'running');
    const c = await docker.getContainer(String(task?.Status.ContainerStatus?.ContainerID)).inspect();
    expect(c.HostConfig.Init).toBe(true);
    expect(c.HostConfig.CapDrop).toEqual(expect.arrayContaining(['CAP_NET_RAW', 'CAP_MKNOD']));
    expect(c.HostConfig.SecurityOpt?.join(',')).toMatch(/no-new-privileges/);
    expect(c.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(c.HostConfig.Privileged).toBe(false);
    const net = await docker.getNetwork(`${stack.network}-${svcName()}`).inspect();
    expect(net).toMatchObject({ Driver: 'overlay', Attachable: true });
    expect(await statusOf(stack, token, inst.name)).toBe('running');
  });

  it('a redeploy makes the new revision a service of its own (`<name>_r2`, the same hardening, the drain as grace period); the first goes', async () => {
    // The whole redeploy suite runs on this swarm too (test/redeploy.e2e.test.ts, E2E_RUNTIME=swarm).
    const rev = await deploy(stack, token, 'swrev');
    await waitReachable(stack, rev, 60_000);
    const first = (await service(`${stack.runId}-swrev`)).ID;
    const r = await api(stack, token, 'POST', '/deploy/swrev/revisions', { envs: { IDLE: '0', CONNSTR: 'r2' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const s = await service(`${stack.runId}-swrev_r2`);
    expect(s.Spec.Labels).toMatchObject({ 'spawner.instance': 'swrev', 'spawner.revision': '2', 'traefik.swarm.network': `${stack.network}-${stack.runId}-swrev` });
    const spec = (await docker.getService(s.ID).inspect()).Spec.TaskTemplate.ContainerSpec;
    expect(spec).toMatchObject({ Init: true, Privileges: { NoNewPrivileges: true }, StopGracePeriod: 30e9 }); // SPAWNER_DRAIN_DEADLINE_SEC's default
    expect((await api(stack, token, 'GET', '/deploy/swrev')).body).toMatchObject({ id: s.ID, revision: 2, status: 'running' });
    await pollUntil('first revision\'s service removed', async () => (
      (await docker.listServices({ filters: { label: [`spawner.id=${stack.spawnerId}`, 'spawner.instance=swrev'] } })).map((x) => x.ID).join() === s.ID ? true : undefined
    ), { timeoutMs: 30_000 });
    expect(s.ID).not.toBe(first);
    const { final } = await followToApp(stack, rev);
    expect(JSON.parse(final.body)).toMatchObject({ hostname: 'swrev', connstr: 'r2' });
  });

  it('a name too long for a Swarm service name with a revision suffix is refused at deploy (invalid_field), nothing made', async () => {
    const long = 'n'.repeat(63 - `${stack.runId}-`.length - 7 + 1);
    const r = await api(stack, token, 'POST', '/deploy', { name: long, image: IMAGES.mockApp });
    expect([r.status, r.body.code, r.body.field], JSON.stringify(r.body)).toEqual([400, 'invalid_field', 'name']);
    expect((await docker.listServices({ filters: { label: [`spawner.id=${stack.spawnerId}`, `spawner.instance=${long}`] } }))).toEqual([]);
  });

  it('stop scales to 0 (no task left); a request through Traefik wakes it: 307 back, then the app', async () => {
    const r = await api(stack, token, 'POST', `/deploy/${inst.name}/stop`);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('exited');
    expect((await service(svcName())).Spec.Mode.Replicated.Replicas).toBe(0);
    expect(await tasksOf(svcName())).toEqual([]);
    // Traefik's swarm provider drops the router on its next poll (refreshSeconds).
    await routerGone(stack, inst);
    const woke = await followToApp(stack, inst);
    expect(woke.hops).toBeGreaterThanOrEqual(1);
    expect(fromApp(woke.final, inst)).toBe(true);
    expect((await service(svcName())).Spec.Mode.Replicated.Replicas).toBe(1);
  });

  it('the idle reaper scales an unused instance to 0, and the next request wakes it', async () => {
    const idle = await deploy(stack, token, 'sw2', { idleTimeout: 3 });
    await waitReachable(stack, idle, 60_000);
    await pollUntil('idle stop', async () => {
      const stops = (await eventsOf(stack, token, idle.name)).filter((e) => e.kind === 'stopped');
      return stops.length > 0 && stops[0]?.reason === 'idle' ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    expect((await service(`${stack.runId}-${idle.name}`)).Spec.Mode.Replicated.Replicas).toBe(0);
    const woke = await followToApp(stack, idle);
    expect(fromApp(woke.final, idle)).toBe(true);
  });

  it('the reaper keeps an instance up while a silent WebSocket is open (the task container\'s socket table), then stops it', async () => {
    const inst3 = await deploy(stack, token, 'sw6', { idleTimeout: 3 });
    await waitReachable(stack, inst3, 60_000);
    const ws = await openWebSocket(`${stack.web}/ws`, inst3.cookie);
    const t0 = Date.now();
    await pause(3 * 3 * 1000); // three idle timeouts with only the silent WebSocket open
    expect(await statusOf(stack, token, inst3.name)).toBe('running');
    const cancelled = await waitLogLine(stack, t0, 'idle stop cancelled: open connections', { instance: inst3.name });
    expect(cancelled.open).toBe(1);
    ws.destroy();
    const tClose = Date.now();
    await pollUntil('idle stop after the WebSocket closed', async () =>
      ((await eventsOf(stack, token, inst3.name)).some((e) => e.kind === 'stopped' && e.reason === 'idle' && e.at > tClose) ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });
    expect((await service(`${stack.runId}-${inst3.name}`)).Spec.Mode.Replicated.Replicas).toBe(0);
  });

  it('isolation: an instance reaches Traefik\'s public entrypoint on its overlay, not another instance, Traefik\'s API or the spawner', async () => {
    const [a, b] = [await deploy(stack, token, 'sw3'), await deploy(stack, token, 'sw4')];
    await waitReachable(stack, a, 60_000);
    await waitReachable(stack, b, 60_000);
    const taskContainer = async (name: string) =>
      String((await tasksOf(`${stack.runId}-${name}`)).find((t) => t.Status.State === 'running')?.Status.ContainerStatus?.ContainerID);
    const ipOn = async (containerId: string, net: string) =>
      String((await docker.getContainer(containerId).inspect()).NetworkSettings.Networks[net]?.IPAddress);
    const bIp = await ipOn(await taskContainer(b.name), `${stack.network}-${stack.runId}-${b.name}`);
    const spawnerOnA = await ipOn(stack.spawner.id, `${stack.network}-${stack.runId}-${a.name}`);
    expect(bIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(spawnerOnA).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const probes: Probe[] = [
      { kind: 'tcp', host: 'traefik', port: 80 }, // the control: this one must be open
      { kind: 'tcp', host: bIp, port: 9000 },
      { kind: 'tcp', host: 'traefik', port: 8080 },
      { kind: 'tcp', host: spawnerOnA, port: 8008 },
      { kind: 'tcp', host: spawnerOnA, port: 8000 },
    ];
    const out = pairs(probes, await probeFrom(await taskContainer(a.name), probes));
    expect(out[0]?.outcome, JSON.stringify(out)).toBe('open');
    for (const o of out.slice(1)) expect(reached(o.outcome), JSON.stringify(o)).toBe(false);
  });

  it('a subnet that overlaps an overlay someone else left is skipped at create: the deploy takes the next one and answers', async () => {
    // Swarm accepts such an overlay and only its allocator fails later, so the spawner checks first.
    // The leftover is the /24 around the subnet the name would get first (the default pool).
    const [first] = candidates(parsePool('10.208.0.0/12', 28), 'swlap', new Set(), 1);
    const leftover = String(first).replace(/\.\d+\/28$/, '.0/24');
    const net = await docker.createNetwork({
      Name: `${stack.runId}-leftover`, Driver: 'overlay', Attachable: true, Labels: { [RUN_LABEL]: stack.runId },
      IPAM: { Driver: 'default', Config: [{ Subnet: leftover }] },
    });
    try {
      const lap = await deploy(stack, token, 'swlap');
      await waitReachable(stack, lap, 60_000);
      const own = await docker.getNetwork(instanceNetwork(stack, lap.name)).inspect();
      const subnet = String(own.IPAM?.Config?.[0]?.Subnet);
      expect(subnet).toMatch(/^10\.2(0[89]|1\d|2[0-3])\.\d+\.\d+\/28$/);
      expect(overlaps(subnet, leftover), `${subnet} vs ${leftover}`).toBe(false);
      expect((await api(stack, token, 'DELETE', `/deploy/${lap.name}`)).status).toBe(200);
    } finally {
      await net.remove().catch(() => undefined);
    }
  });

  it('reconciliation: an outside `docker service scale 0` is seen (no task events exist: the listing)', async () => {
    const name = `${stack.runId}-sw3`;
    const svc = await service(name);
    const spec = { ...svc.Spec, Mode: { Replicated: { Replicas: 0 } } };
    await docker.getService(name).update({ _query: { version: svc.Version.Index }, _body: spec } as never);
    await pollUntil('spawner sees sw3 stopped', async () => ((await statusOf(stack, token, 'sw3')) === 'exited' ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });
    // Recorded from the watch (service event → listing → a `die` nobody here asked for).
    await pollUntil('external_stop recorded', async () =>
      ((await eventsOf(stack, token, 'sw3')).some((e) => e.kind === 'external_stop') ? true : undefined), { timeoutMs: 15_000, intervalMs: 250 });
  });

  it('storm: 200 concurrent requests for a stopped instance cause one scale-up (one task, no force update), and all reach the app', async () => {
    expect((await api(stack, token, 'POST', `/deploy/${inst.name}/stop`)).status).toBe(200);
    await routerGone(stack, inst);
    const forced = async () => (await service(svcName())).Spec.TaskTemplate?.ForceUpdate ?? 0;
    const before = await forced();
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 200 }, () => followToApp(stack, inst, '/storm')));
    const elapsed = Date.now() - t0;
    for (const r of results) expect(fromApp(r.final, inst), `${r.final.status} ${r.final.body.slice(0, 200)}`).toBe(true);
    // Stop left no task; every scale-up or force update makes one. (Version.Index is the store's
    // write counter: a scale-up moves it several times.)
    expect(await tasksOf(svcName())).toHaveLength(1);
    expect(await forced()).toBe(before);
    // And the spawner's own record: one wake for all 200.
    expect((await eventsOf(stack, token, inst.name)).filter((e) => e.kind === 'wake' && e.at >= t0)).toHaveLength(1);
    const held = results.filter((r) => r.hops > 0).length;
    expect(held).toBeGreaterThanOrEqual(180); // all left before the task could be up: nearly all held by the listener
    console.log(`[swarm.e2e] storm: 200 concurrent, ${held} via the listener, 1 task; all at the app after ${elapsed} ms`);
  });

  it('cold wake through Traefik: median of 5 (reported), with a HEALTHCHECK and (when the engine has mock-app:nohc) without', async () => {
    const nohc = await docker.getImage(NOHC_IMAGE).inspect().then(() => true, () => false);
    const subjects: [string, Instance][] = [['mock-app with HEALTHCHECK', inst]];
    if (nohc) {
      const plain = await deploy(stack, token, 'sw5', { image: NOHC_IMAGE });
      await waitReachable(stack, plain, 60_000);
      subjects.push([`${NOHC_IMAGE} (no HEALTHCHECK: TCP probe)`, plain]);
    }
    for (const [what, subject] of subjects) {
      const ms: number[] = [];
      for (let i = 0; i < 5; i++) {
        await api(stack, token, 'POST', `/deploy/${subject.name}/stop`);
        await routerGone(stack, subject);
        const woke = await followToApp(stack, subject);
        expect(fromApp(woke.final, subject)).toBe(true);
        ms.push(woke.ms);
      }
      const sorted = [...ms].sort((a, b) => a - b);
      console.log(`[swarm.e2e] cold wake (${what}, refreshSeconds=${REFRESH_SECONDS}): ${ms.join(', ')} ms; median ${sorted[2]} ms`);
    }
  }, 300_000);
});
