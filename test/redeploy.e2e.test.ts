/**
 * Redeploys on real Docker and Traefik: start-first switches under a load of GETs and POSTs with
 * bodies through Traefik get no error, lose no POST and replay none (the app's own logs count
 * them), for an app WITHOUT a HEALTHCHECK (Traefik routes it as soon as it runs: only the switch
 * route holds it back) and one with; a new revision that never becomes ready never takes traffic;
 * the instance keeps its name and cookie; revisions are recorded; bad input is refused.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, login, startStack, type Stack } from './helpers/stack.js';
import { IMAGES } from './helpers/docker-env.js';
import { deploy, fromApp, pause, send, type Instance } from './helpers/lifecycle.js';
import { followInstanceLogs, postAccounting, startLoad, switchGap } from './helpers/redeploy-load.js';
import { pollUntil } from './helpers/poll.js';

let stack: Stack;
let token: string;
const NOHC = `${IMAGES.mockApp}-nohc`;
const NOHC_V2 = `${IMAGES.mockAppAlt}-nohc`;

beforeAll(async () => {
  // The same apps without Docker health: the gate probes them itself, Traefik routes them at once.
  for (const [base, tag] of [[IMAGES.mockApp, NOHC], [IMAGES.mockAppAlt, NOHC_V2]] as const) {
    execFileSync('docker', ['build', '-q', '-t', tag, '-'], { input: `FROM ${base}\nHEALTHCHECK NONE\n` });
  }
  stack = await startStack({ env: { SPAWNER_WAKE_DEADLINE_SEC: '20', SPAWNER_DRAIN_DEADLINE_SEC: '10' } });
  token = await login(stack);
}, 180_000);
afterAll(async () => {
  await stack?.teardown();
  for (const tag of [NOHC, NOHC_V2]) await docker.getImage(tag).remove().catch(() => undefined);
});

const ENVS = { IDLE: '0', LOG_REQUESTS: '1' };

async function ipOf(id: string): Promise<string> {
  const info = await docker.getContainer(id).inspect();
  return Object.values(info.NetworkSettings.Networks)[0]?.IPAddress ?? '';
}

async function containersOf(name: string) {
  return docker.listContainers({ all: true, filters: { label: [`spawner.id=${stack.spawnerId}`, `spawner.instance=${name}`] } });
}

async function fileRouters(): Promise<string[]> {
  const r = await fetch(`${stack.traefikApi}/api/http/routers`);
  return ((await r.json()) as { name: string }[]).map((x) => x.name).filter((n) => n.endsWith('@file'));
}

/** Redeploys `inst` to each image in turn under load; returns what the load and the app saw. */
async function redeploysUnderLoad(inst: Instance, images: string[]) {
  const logs = followInstanceLogs(stack.spawnerId, inst.name);
  const load = startLoad(stack.web, inst);
  const gaps: (number | null)[] = [];
  try {
    await pollUntil('load answered', async () => (load.served.filter((s) => s.ok).length > 20 ? true : undefined));
    for (const image of images) {
      const before = String((await api(stack, token, 'GET', `/deploy/${inst.name}`)).body.id);
      const oldIp = await ipOf(before);
      const r = await api(stack, token, 'POST', `/deploy/${inst.name}/revisions`, { image });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.revision).toMatchObject({ status: 'active', image });
      const seen = load.served.length;
      await pollUntil('load answered by the new revision', async () => (load.served.slice(seen).filter((s) => s.ok && !s.ips.includes(oldIp)).length > 20 ? true : undefined));
      gaps.push(switchGap(load.served, oldIp)?.gapMs ?? null);
    }
  } finally {
    await load.stop();
  }
  await pause(300); // the last log lines of the serving container reach the follower
  await logs.stop();
  return { ...postAccounting(load.served, logs.counts()), total: load.served.length, gaps };
}

describe('start-first redeploy under load', () => {
  for (const [what, v1, v2] of [['without HEALTHCHECK', NOHC, NOHC_V2], ['with HEALTHCHECK', IMAGES.mockApp, IMAGES.mockAppAlt]] as const) {
    it(`${what}: two switches, 0 errors, 0 lost and 0 replayed POSTs; the cookie keeps working`, async () => {
      const name = what.startsWith('without') ? 'rd-nohc' : 'rd-hc';
      const r0 = await api(stack, token, 'POST', '/deploy?wait=true', { name, image: v1, envs: ENVS });
      expect(r0.status).toBe(200);
      const inst: Instance = { name, id: String(r0.body.id), hostname: name, cookie: `instance=${String(r0.body.cookie.value)}` };
      const out = await redeploysUnderLoad(inst, [v2, v1]);
      console.log(`${what}: ${out.total} requests (${out.posts} POSTs), switch gaps (last old → first new) ${JSON.stringify(out.gaps)} ms`);
      expect(out.errors).toEqual([]);
      expect(out.lost).toBe(0);
      expect(out.replayed).toBe(0);
      expect(out.posts).toBeGreaterThan(40);
      // One container, no switch route left, three revisions with the last active.
      await pollUntil('old containers removed', async () => ((await containersOf(name)).length === 1 ? true : undefined));
      await pollUntil('switch routes removed', async () => ((await fileRouters()).length === 0 ? true : undefined));
      const revs = (await api(stack, token, 'GET', `/deploy/${name}/revisions`)).body.revisions as Record<string, unknown>[];
      expect(revs.map((x) => [x.revision, x.status, x.image])).toEqual([[3, 'active', v1], [2, 'superseded', v2], [1, 'superseded', v1]]);
      expect(revs[0]).toMatchObject({ createdBy: 'alice', envKeys: ['IDLE', 'LOG_REQUESTS'] });
      expect(JSON.stringify(revs)).not.toContain(ENVS.LOG_REQUESTS === '1' ? '"LOG_REQUESTS":"1"' : '-');
      const view = (await api(stack, token, 'GET', `/deploy/${name}`)).body;
      expect(view).toMatchObject({ name, revision: 3, image: v1, status: 'running' });
      expect(fromApp(await send(`${stack.web}/`, { cookie: inst.cookie }), inst)).toBe(true);
    }, 240_000);
  }
});

describe('a new revision that fails its gate', () => {
  it('never takes traffic: the old container keeps serving, the revision is failed with its step', async () => {
    const inst = await deploy(stack, token, 'rd-fail', { image: NOHC, envs: ENVS });
    await pollUntil('reachable', async () => (fromApp(await send(`${stack.web}/`, { cookie: inst.cookie }), inst) ? true : undefined));
    const load = startLoad(stack.web, inst, 2);
    // Never listens: the gate's deadline (20 s here) fails it.
    const r = await api(stack, token, 'POST', '/deploy/rd-fail/revisions', { envs: { ...ENVS, STARTUP_DELAY: '10m' } });
    await load.stop();
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'redeploy_failed' });
    expect(load.served.filter((s) => !s.ok)).toEqual([]);
    expect(load.served.every((s) => s.ips.includes(load.served[0]?.ips[0] ?? '-'))).toBe(true);
    const revs = (await api(stack, token, 'GET', '/deploy/rd-fail/revisions')).body.revisions as Record<string, unknown>[];
    expect(revs.map((x) => [x.revision, x.status, x.failedStep])).toEqual([[2, 'failed', 'gate'], [1, 'active', null]]);
    await pollUntil('failed container removed', async () => ((await containersOf('rd-fail')).length === 1 ? true : undefined));
    expect((await containersOf('rd-fail'))[0]?.Id).toBe(inst.id);
    await pollUntil('switch routes removed', async () => ((await fileRouters()).length === 0 ? true : undefined));
    // Rolling back to the failed revision is refused; to revision 1, a forward deploy (revision 3).
    expect((await api(stack, token, 'POST', '/deploy/rd-fail/rollback', { revision: 2 })).body).toMatchObject({ code: 'conflict', field: 'revision' });
    expect((await api(stack, token, 'POST', '/deploy/rd-fail/rollback', { revision: 9 })).body).toMatchObject({ code: 'not_found', field: 'revision' });
    const rb = await api(stack, token, 'POST', '/deploy/rd-fail/rollback', { revision: 1 });
    expect(rb.status, JSON.stringify(rb.body)).toBe(200);
    expect(rb.body.revision).toMatchObject({ revision: 3, status: 'active', image: NOHC });
  }, 180_000);
});
