/**
 * Redeploys on real Docker and Traefik: start-first switches under a load of GETs and POSTs with
 * bodies through Traefik get no error, lose no POST and replay none (the app's own logs count
 * them), for an app WITHOUT a HEALTHCHECK (Traefik routes it as soon as it runs: only the switch
 * route holds it back) and one with; a new revision that never becomes ready never takes traffic;
 * the instance keeps its name and cookie; revisions are recorded; bad input is refused.
 * Parameterised by runtime (helpers/runtime-view.ts): with E2E_RUNTIME=swarm (CI's one-node swarm
 * part) the same file runs against the swarm runtime, where each revision is a service.
 */
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, type Stack } from './helpers/stack.js';
import { IMAGES } from './helpers/docker-env.js';
import { deploy, fromApp, pause, send, type Instance } from './helpers/lifecycle.js';
import { followInstanceLogs, postAccounting, startLoad, switchGap } from './helpers/redeploy-load.js';
import { pollUntil } from './helpers/poll.js';
import {
  addressOf, isRunning, runningContainersOf, startRuntimeStack, teardownRuntimeStack, unitsOf,
} from './helpers/runtime-view.js';

let stack: Stack;
let token: string;
const NOHC = `${IMAGES.mockApp}-nohc`;
const NOHC_V2 = `${IMAGES.mockAppAlt}-nohc`;

beforeAll(async () => {
  // The same apps without Docker health: the gate probes them itself, Traefik routes them at once.
  for (const [base, tag] of [[IMAGES.mockApp, NOHC], [IMAGES.mockAppAlt, NOHC_V2]] as const) {
    execFileSync('docker', ['build', '-q', '-t', tag, '-'], { input: `FROM ${base}\nHEALTHCHECK NONE\n` });
  }
  ({ stack, token } = await startRuntimeStack({ env: { SPAWNER_WAKE_DEADLINE_SEC: '20', SPAWNER_DRAIN_DEADLINE_SEC: '10' } }));
}, 180_000);
afterAll(async () => {
  await teardownRuntimeStack(stack, 'redeploy');
  for (const tag of [NOHC, NOHC_V2]) await docker.getImage(tag).remove().catch(() => undefined);
});

const ENVS = { IDLE: '0', LOG_REQUESTS: '1' };

/** The instance's containers (on Swarm: its services, one per revision while both live). */
const containersOf = (name: string) => unitsOf(stack, name);

async function fileRouters(): Promise<string[]> {
  const r = await fetch(`${stack.traefikApi}/api/http/routers`);
  return ((await r.json()) as { name: string }[]).map((x) => x.name).filter((n) => n.endsWith('@file'));
}

/** Redeploys `inst` to each image in turn under load; returns what the load and the app saw. */
async function redeploysUnderLoad(inst: Instance, images: string[]) {
  const logs = followInstanceLogs(() => runningContainersOf(stack, inst.name));
  const load = startLoad(stack.web, inst);
  const gaps: (number | null)[] = [];
  try {
    await pollUntil('load answered', async () => (load.served.filter((s) => s.ok).length > 20 ? true : undefined));
    for (const image of images) {
      const before = String((await api(stack, token, 'GET', `/deploy/${inst.name}`)).body.id);
      const oldIp = await addressOf(stack, inst.name, before);
      const from = load.served.length;
      const r = await api(stack, token, 'POST', `/deploy/${inst.name}/revisions`, { image });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.revision).toMatchObject({ status: 'active', image });
      const seen = load.served.length;
      await pollUntil('load answered by the new revision', async () => (load.served.slice(seen).filter((s) => s.ok && !s.ips.includes(oldIp)).length > 20 ? true : undefined));
      gaps.push(switchGap(load.served, oldIp, from)?.gapMs ?? null);
    }
  } finally {
    await load.stop();
  }
  await pause(300); // the last log lines of the serving container reach the follower
  await logs.stop();
  const counts = logs.counts();
  const acc = postAccounting(load.served, counts);
  if (acc.lost > 0) {
    const lost = load.served.filter((p) => p.method === 'POST' && !counts.has(p.id));
    console.log('not in the app logs:', lost.length, 'by', JSON.stringify([...new Set(lost.map((p) => p.ips.join()))]), 'containers followed', logs.containers().length);
  }
  return { ...acc, total: load.served.length, gaps };
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

describe('every routing mode', () => {
  for (const [routing, route] of [
    ['path', { prefix: '/app/rd-path/' }],
    ['host', { host: 'rd-host.apps.localhost' }],
  ] as const) {
    it(`${routing} routing: a start-first switch under load without an error; the route stays the instance's`, async () => {
      const name = `rd-${routing}`;
      const r0 = await api(stack, token, 'POST', '/deploy?wait=true', { name, image: NOHC, envs: ENVS, routing });
      expect(r0.status).toBe(200);
      const inst: Instance = { name, id: String(r0.body.id), hostname: name, cookie: `instance=${String(r0.body.cookie.value)}` };
      const load = startLoad(stack.web, inst, 2, route);
      try {
        await pollUntil('load answered', async () => (load.served.filter((s) => s.ok).length > 10 ? true : undefined));
        const r = await api(stack, token, 'POST', `/deploy/${name}/revisions`, { image: NOHC_V2 });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        const seen = load.served.length;
        await pollUntil('new revision answering', async () => (load.served.slice(seen).filter((s) => s.ok).length > 10 ? true : undefined));
      } finally {
        await load.stop();
      }
      expect(load.served.filter((s) => !s.ok).map((s) => `${s.method} ${s.status} ${s.error ?? ''}`)).toEqual([]);
      // Another instance's cookie does not reach it: the rule (and its secret) is the old one.
      const other = await send(`${stack.web}${route.prefix ?? '/'}`, { cookie: 'instance=rd-x.wrongsecretwrong', ...(route.host ? { host: route.host } : {}) });
      expect(fromApp(other, inst)).toBe(false);
    }, 120_000);
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
    expect((await containersOf('rd-fail'))[0]?.id).toBe(inst.id);
    await pollUntil('switch routes removed', async () => ((await fileRouters()).length === 0 ? true : undefined));
    // Rolling back to the failed revision is refused; to revision 1, a forward deploy (revision 3).
    expect((await api(stack, token, 'POST', '/deploy/rd-fail/rollback', { revision: 2 })).body).toMatchObject({ code: 'conflict', field: 'revision' });
    expect((await api(stack, token, 'POST', '/deploy/rd-fail/rollback', { revision: 9 })).body).toMatchObject({ code: 'not_found', field: 'revision' });
    const rb = await api(stack, token, 'POST', '/deploy/rd-fail/rollback', { revision: 1 });
    expect(rb.status, JSON.stringify(rb.body)).toBe(200);
    expect(rb.body.revision).toMatchObject({ revision: 3, status: 'active', image: NOHC });
  }, 180_000);
});

describe('redeploys of stopped instances, stop-first, and what is refused', () => {
  it('a stopped instance: the new container is created, not started; the next wake starts the new revision', async () => {
    const inst = await deploy(stack, token, 'rd-stopped', { image: IMAGES.mockApp, envs: ENVS });
    expect((await api(stack, token, 'POST', '/deploy/rd-stopped/stop')).status).toBe(200);
    const r = await api(stack, token, 'POST', '/deploy/rd-stopped/revisions', { image: IMAGES.mockAppAlt });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.instance).toMatchObject({ status: 'created', revision: 2, image: IMAGES.mockAppAlt });
    const left = await containersOf('rd-stopped');
    expect(left.map((c) => [c.id === inst.id, c.running])).toEqual([[false, false]]);
    // The cookie is the same; the wake starts revision 2.
    const woken = await pollUntil('woken', async () => {
      const a = await send(`${stack.web}/`, { cookie: inst.cookie, accept: 'application/json' });
      if (a.status === 307 || a.headers['x-spawner-wake'] !== undefined) return undefined;
      return a.status === 200 ? a : undefined;
    }, { timeoutMs: 60_000 });
    expect(JSON.parse(woken.body)).toMatchObject({ hostname: 'rd-stopped' });
    expect((await api(stack, token, 'GET', '/deploy/rd-stopped')).body).toMatchObject({ status: 'running', revision: 2 });
  }, 120_000);

  it('stop-first: the old container stops first; a client meanwhile is held by the wake listener and ends at the new revision', async () => {
    // CONNSTR tells the revisions apart (the app echoes it): the new container may get the old one's address.
    const inst = await deploy(stack, token, 'rd-sf', { image: NOHC, envs: { ...ENVS, CONNSTR: 'r1' } });
    await pollUntil('reachable', async () => (fromApp(await send(`${stack.web}/`, { cookie: inst.cookie }), inst) ? true : undefined));
    const redeploy = api(stack, token, 'POST', '/deploy/rd-sf/revisions', { image: NOHC_V2, envs: { ...ENVS, CONNSTR: 'r2' }, strategy: 'stop-first' });
    await pollUntil('old stopped', async () => ((await isRunning(inst.id).catch(() => false)) ? undefined : true));
    // A request in between: the listener holds it (307 once ready), and it lands on the new container.
    const a = await pollUntil('served', async () => {
      const r = await send(`${stack.web}/during`, { cookie: inst.cookie, accept: 'application/json' }, 60_000);
      if (r.status === 307) return send(`${stack.web}${String(r.headers.location)}`, { cookie: inst.cookie }, 60_000);
      return r.status === 200 && r.headers['x-spawner-wake'] === undefined ? r : undefined;
    }, { timeoutMs: 60_000 });
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toMatchObject({ connstr: 'r2' });
    const r = await redeploy;
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.revision).toMatchObject({ revision: 2, status: 'active', image: NOHC_V2 });
    expect((await containersOf('rd-sf')).length).toBe(1);
  }, 120_000);

  it('two redeploys at once: the second gets 409 redeploy_in_progress; nothing half-switched', async () => {
    await deploy(stack, token, 'rd-twice', { image: NOHC, envs: ENVS });
    const first = api(stack, token, 'POST', '/deploy/rd-twice/revisions', { envs: { ...ENVS, STARTUP_DELAY: '2s' } });
    await pollUntil('first redeploy under way', async () => ((await containersOf('rd-twice')).length === 2 ? true : undefined));
    const second = await api(stack, token, 'POST', '/deploy/rd-twice/revisions', { image: NOHC_V2 });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'redeploy_in_progress' });
    expect((await first).status).toBe(200);
    const revs = (await api(stack, token, 'GET', '/deploy/rd-twice/revisions')).body.revisions as Record<string, unknown>[];
    expect(revs.map((x) => [x.revision, x.status])).toEqual([[2, 'active'], [1, 'superseded']]);
  }, 120_000);

  it('refuses changing what names or routes the instance, unknown instances and revisions, with problem+json', async () => {
    await deploy(stack, token, 'rd-bad', { image: NOHC, envs: ENVS });
    for (const [path, body, status, code, field] of [
      ['/deploy/rd-bad/revisions', { routing: 'host' }, 400, 'invalid_field', 'routing'],
      ['/deploy/rd-bad/revisions', { public: true }, 400, 'invalid_field', 'public'],
      ['/deploy/rd-bad/revisions', { image: 'traefik:latest' }, 400, 'image_not_allowed', 'image'],
      ['/deploy/rd-gone/revisions', { image: NOHC }, 404, 'not_found', 'nameOrId'],
      ['/deploy/rd-bad/rollback', { revision: 42 }, 404, 'not_found', 'revision'],
      ['/deploy/rd-bad/rollback', {}, 400, 'invalid_field', 'revision'],
    ] as const) {
      const r = await api(stack, token, 'POST', path, body);
      expect([r.status, r.body.code, r.body.field], `${path} ${JSON.stringify(body)}`).toEqual([status, code, field]);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await containersOf('rd-bad')).length).toBe(1);
    expect(((await api(stack, token, 'GET', '/deploy/rd-bad/revisions')).body.revisions as unknown[]).length).toBe(1);
  }, 60_000);
});

describe('drain and rollback', () => {
  it('a request in flight on the old container when the switch happens is answered by it (drain), not cut', async () => {
    // DRAIN: how long the app itself waits for requests in flight after SIGTERM (default 2 s).
    const inst = await deploy(stack, token, 'rd-drain', { image: NOHC, envs: { ...ENVS, CONNSTR: 'r1', DRAIN: '20s' } });
    await pollUntil('reachable', async () => (fromApp(await send(`${stack.web}/`, { cookie: inst.cookie }), inst) ? true : undefined));
    const slow = send(`${stack.web}/delay/4000`, { cookie: inst.cookie }, 30_000, { method: 'POST', body: 'in flight' });
    await pause(300);
    const r = await api(stack, token, 'POST', '/deploy/rd-drain/revisions', { envs: { ...ENVS, CONNSTR: 'r2' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const a = await slow;
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toMatchObject({ connstr: 'r1', body: 'in flight' });
    expect(JSON.parse((await send(`${stack.web}/`, { cookie: inst.cookie })).body)).toMatchObject({ connstr: 'r2' });
  }, 120_000);

  it('rolling back to a revision whose image is gone: 422 image_unavailable, nothing changes', async () => {
    const gone = `${IMAGES.mockApp}-gone`;
    execFileSync('docker', ['build', '-q', '-t', gone, '-'], { input: `FROM ${NOHC}\nLABEL spawner-test.gone=1\n` });
    try {
      await deploy(stack, token, 'rd-gone-img', { image: gone, envs: ENVS });
      expect((await api(stack, token, 'POST', '/deploy/rd-gone-img/revisions', { image: NOHC })).status).toBe(200);
      await pollUntil('old container removed', async () => ((await containersOf('rd-gone-img')).length === 1 ? true : undefined));
      // On Swarm the old revision's task container goes a moment after its service.
      await pollUntil('image removed', async () => { await docker.getImage(gone).remove(); return true; }, { timeoutMs: 30_000, intervalMs: 250 });
      const rb = await api(stack, token, 'POST', '/deploy/rd-gone-img/rollback', { revision: 1 });
      expect([rb.status, rb.body.code, rb.body.field]).toEqual([422, 'image_unavailable', 'revision']);
      expect(String(rb.body.detail)).toContain(gone);
      const revs = (await api(stack, token, 'GET', '/deploy/rd-gone-img/revisions')).body.revisions as Record<string, unknown>[];
      expect(revs.map((x) => [x.revision, x.status])).toEqual([[2, 'active'], [1, 'superseded']]);
    } finally {
      await docker.getImage(gone).remove().catch(() => undefined);
    }
  }, 120_000);
});

describe('the CLI', () => {
  const CLI = fileURLToPath(new URL('../spawner/dist/cli.js', import.meta.url));
  const cli = async (...args: string[]) => (await promisify(execFile)('node', [CLI, ...args, '--api', stack.api, '--token', token])).stdout;

  it('redeploy, revisions and rollback', async () => {
    await deploy(stack, token, 'rd-cli', { image: NOHC, envs: ENVS });
    expect(await cli('redeploy', 'rd-cli', '--image', NOHC_V2, '--env', 'IDLE=0', '--env', 'CONNSTR=cli')).toMatch(/^REV\tSTATUS\tIMAGE.*\n2\tactive\t/);
    const listed = await cli('revisions', 'rd-cli');
    expect(listed.trim().split('\n').slice(1).map((l) => l.split('\t').slice(0, 3))).toEqual([['2', 'active', NOHC_V2], ['1', 'superseded', NOHC]]);
    const rb = JSON.parse(await cli('rollback', 'rd-cli', '1', '--json')) as { revision: { revision: number; image: string } };
    expect(rb.revision).toMatchObject({ revision: 3, image: NOHC });
  }, 120_000);
});
