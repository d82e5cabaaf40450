/**
 * The deploy API as clients of the original Go spawner use it, on real Docker (+ Traefik via the
 * stack): a shell script with curl logs in, deploys (POST /deploy and /deploy/), lists, stops,
 * starts (PUT by name and by container id) and deletes. Then: every auth form, the hardened
 * container as Docker reports it, and the unauthenticated operational endpoints. Parameterised by
 * runtime (helpers/runtime-view.ts): on Swarm the id is the service's and a stop scales it to 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectOrNull, type Stack } from './helpers/stack.js';
import { containerOfUnit, RUNTIME, startRuntimeStack, stateOf, teardownRuntimeStack } from './helpers/runtime-view.js';
import { IMAGES } from './helpers/docker-env.js';
import { curl } from './helpers/curl.js';
import { expectProblem, jsonRequest, rawRequest } from './helpers/http.js';
import { waitListening } from './helpers/mock-app.js';

let stack: Stack;
let token: string;

beforeAll(async () => {
  ({ stack } = await startRuntimeStack()); // the first test logs in itself, as the original script
});

afterAll(async () => teardownRuntimeStack(stack, 'api-crud'), 180_000);

/** The API's id of an instance: its container's id, or on Swarm its service's. */
const UNIT_ID = RUNTIME === 'swarm' ? /^[a-z0-9]{25}$/ : /^[a-f0-9]{64}$/;
const listening = async (id: string) => waitListening((await containerOfUnit(id)) ?? id);

const deployBody = (name: string) => JSON.stringify({ name, network: stack.network, image: IMAGES.mockApp, labels: {}, envs: {} });

describe('deploy API, original client flow (curl)', () => {
  it('login → deploy (/deploy and /deploy/) → list → stop → PUT start (name and id) → delete', async () => {
    // POST /login exactly as the original script: curl -d '{...}' (form content type).
    const login = await curl(`${stack.api}/login`, ['-X', 'POST', '-d', JSON.stringify(stack.user)]);
    expect(login.status).toBe(200);
    expect(typeof login.body.token).toBe('string');
    token = login.body.token as string;
    const auth = ['-H', `token: ${token}`];

    const a = await curl(`${stack.api}/deploy`, ['-X', 'POST', ...auth, '-d', deployBody('crud-a')]);
    expect(a.status, a.text).toBe(200);
    expect(a.body).toMatchObject({ name: 'crud-a', image: IMAGES.mockApp, status: 'running' });
    expect(a.body.id).toMatch(UNIT_ID);
    expect(a.body.cookie).toEqual({ name: 'instance', value: expect.stringMatching(/^crud-a\.[a-f0-9]{32}$/) });
    const b = await curl(`${stack.api}/deploy/`, ['-X', 'POST', ...auth, '-H', 'Content-Type: application/json', '-d', deployBody('crud-b')]);
    expect(b.status, b.text).toBe(200);
    expect(b.body).toMatchObject({ name: 'crud-b', cookie: { name: 'instance' } });
    expect(b.body.id).toMatch(UNIT_ID);
    // The secret part of the cookie is per instance.
    expect(b.body.cookie.value.split('.')[1]).not.toBe(a.body.cookie.value.split('.')[1]);

    // GET /deploy and /deploy/: {instances:[...]} with Docker's own state.
    for (const path of ['/deploy', '/deploy/']) {
      const list = await curl(`${stack.api}${path}`, auth);
      expect(list.status).toBe(200);
      const rows = list.body.instances as Array<Record<string, any>>;
      expect(rows.map((r) => r.name).sort()).toEqual(['crud-a', 'crud-b']);
      for (const r of rows) {
        expect(r).toMatchObject({ image: IMAGES.mockApp, labels: {} });
        expect(r.id).toBe(r.name === 'crud-a' ? a.body.id : b.body.id);
        expect(r.status).toBe(await stateOf(r.id as string));
        // Never the routing secret or its hash.
        expect(JSON.stringify(r)).not.toContain(a.body.cookie.value.split('.')[1]);
        expect(r).not.toHaveProperty('secretHash');
      }
    }

    // Stop, then PUT /deploy/:name starts it again. (Wait until the app is up: a SIGTERM to a
    // node PID 1 before its handler exists is lost, and the stop then takes the full timeout.)
    await listening(a.body.id);
    const stopped = await curl(`${stack.api}/deploy/crud-a/stop`, ['-X', 'POST', ...auth]);
    expect(stopped.status, stopped.text).toBe(200);
    expect(stopped.body.status).toBe('exited');
    expect(await stateOf(a.body.id)).toBe('exited');
    const listed = await curl(`${stack.api}/deploy`, auth);
    expect(listed.body.instances.find((r: { name: string }) => r.name === 'crud-a').status).toBe('exited');
    const put = await curl(`${stack.api}/deploy/crud-a`, ['-X', 'PUT', ...auth]);
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({ name: 'crud-a', id: a.body.id, status: 'running' });
    expect(await stateOf(a.body.id)).toBe('running');

    // PUT by full id, and by the 12-character short id.
    for (const ref of [b.body.id as string, (b.body.id as string).slice(0, 12)]) {
      await listening(b.body.id);
      expect((await curl(`${stack.api}/deploy/crud-b/stop`, ['-X', 'POST', ...auth])).body.status).toBe('exited');
      const byId = await curl(`${stack.api}/deploy/${ref}`, ['-X', 'PUT', ...auth]);
      expect(byId.status, byId.text).toBe(200);
      expect(byId.body).toMatchObject({ name: 'crud-b', status: 'running' });
      expect(await stateOf(b.body.id)).toBe('running');
    }
    // PUT on a running instance is a no-op that still answers the instance.
    expect((await curl(`${stack.api}/deploy/crud-b`, ['-X', 'PUT', ...auth])).body.status).toBe('running');

    // DELETE by name and by container id: stopped and removed.
    const delA = await curl(`${stack.api}/deploy/crud-a`, ['-X', 'DELETE', ...auth]);
    expect(delA.status, delA.text).toBe(200);
    expect(delA.body).toEqual({ id: a.body.id, name: 'crud-a', status: 'removed' });
    expect(await stateOf(a.body.id)).toBeNull();
    const delB = await curl(`${stack.api}/deploy/${b.body.id}`, ['-X', 'DELETE', ...auth]);
    expect(delB.status, delB.text).toBe(200);
    expect(delB.body).toMatchObject({ name: 'crud-b', status: 'removed' });
    expect(await stateOf(b.body.id)).toBeNull();

    expect((await curl(`${stack.api}/deploy`, auth)).body).toEqual({ instances: [] });
    const again = await curl(`${stack.api}/deploy/crud-a`, ['-X', 'DELETE', ...auth]);
    expect(again.status).toBe(404);
    expect(again.contentType).toContain('application/problem+json');
  });
});

describe('authentication', () => {
  it('accepts the token: header, Authorization: Bearer and the service token; refuses the rest', async () => {
    token ??= (await jsonRequest(stack.api, '', 'POST', '/login', stack.user)).json.token;
    expect((await jsonRequest(stack.api, token, 'GET', '/deploy')).status).toBe(200);
    const bearer = await rawRequest(stack.api, 'GET', '/deploy', { headers: { authorization: `Bearer ${token}` } });
    expect(bearer.status).toBe(200);
    expect(bearer.json).toEqual({ instances: expect.any(Array) });
    expect((await jsonRequest(stack.api, stack.serviceToken, 'GET', '/deploy')).status).toBe(200);
    const svcBearer = await rawRequest(stack.api, 'GET', '/deploy', { headers: { authorization: `Bearer ${stack.serviceToken}` } });
    expect(svcBearer.status).toBe(200);

    const none = await rawRequest(stack.api, 'GET', '/deploy');
    expectProblem(none, 401, 'unauthorized');
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expectProblem(await jsonRequest(stack.api, '', 'POST', '/deploy', { name: 'nope', image: IMAGES.mockApp }), 401, 'unauthorized');
    expectProblem(await jsonRequest(stack.api, `${token}x`, 'GET', '/deploy'), 401, 'unauthorized');
    expectProblem(await rawRequest(stack.api, 'GET', '/deploy', { headers: { authorization: `Basic ${Buffer.from('alice:x').toString('base64')}` } }), 401, 'unauthorized');
    expectProblem(await rawRequest(stack.api, 'DELETE', '/deploy/crud-a'), 401, 'unauthorized');

    // A wrong password answers what the original answered; clients test for it.
    const bad = await jsonRequest(stack.api, '', 'POST', '/login', { username: stack.user.username, password: 'wrong' });
    expect(bad.status).toBe(401);
    expect(bad.json).toEqual({ message: 'login invalid' });
    expect(bad.text).not.toContain(stack.user.password);
  });
});

// Docker's own view of the container; on Swarm, test/swarm.e2e.test.ts checks its service's.
if (RUNTIME === 'docker') describe('the instance container as Docker sees it', () => {
  it('is hardened, labelled as ours and named deterministically', async () => {
    const dep = await jsonRequest(stack.api, stack.serviceToken, 'POST', '/deploy', {
      name: 'crud-h', network: stack.network, image: IMAGES.mockApp, labels: { team: 'blue' }, envs: { FOO: 'bar baz', IDLE: '0' },
    });
    expect(dep.status, dep.text).toBe(200);
    const info = await inspectOrNull(dep.json.id as string);
    expect(info).not.toBeNull();
    const hc = info!.HostConfig;
    expect(hc.Privileged).toBe(false);
    expect(hc.SecurityOpt).toContain('no-new-privileges');
    expect(hc.Init).toBe(true); // tini as PID 1: early SIGTERMs are not lost
    expect(hc.Binds ?? []).toEqual([]);
    expect(info!.Mounts).toEqual([]);
    expect(Object.keys(hc.PortBindings ?? {})).toEqual([]);
    expect(hc.PublishAllPorts).toBe(false);
    expect(hc.CapAdd ?? []).toEqual([]);
    // Its own network only (the body named the control network: isolation, still routed).
    const own = `${stack.network}-${stack.runId}-crud-h`;
    expect(hc.NetworkMode).toBe(own);
    expect(Object.keys(info!.NetworkSettings.Networks)).toEqual([own]);
    expect(info!.Config.Labels['traefik.docker.network']).toBe(own);
    // The configured defaults (no limits in the request): 256 MiB, 0.5 CPU, 256 pids.
    expect(hc.Memory).toBe(256 * 1024 * 1024);
    expect(hc.NanoCpus).toBe(500_000_000);
    expect(hc.PidsLimit).toBe(256);
    expect(hc.RestartPolicy?.Name ?? 'no').toBe('no');
    expect(info!.Config.Labels).toMatchObject({
      origin: 'spawner', 'spawner.id': stack.spawnerId, 'spawner.instance': 'crud-h', team: 'blue', 'traefik.enable': 'true',
    });
    expect(info!.Name).toBe(`/${stack.runId}-crud-h`);
    expect(info!.Config.Env).toEqual(expect.arrayContaining(['FOO=bar baz', 'IDLE=0']));
    expect(info!.Config.Image).toBe(IMAGES.mockApp);

    // The view carries the caller's labels, never the generated Traefik ones.
    const view = await jsonRequest(stack.api, stack.serviceToken, 'GET', '/deploy/crud-h');
    expect(view.status).toBe(200);
    expect(view.json).toMatchObject({ id: dep.json.id, name: 'crud-h', labels: { team: 'blue' }, network: stack.network, status: 'running' });

    // Explicit limits within the caps are applied as asked.
    const lim = await jsonRequest(stack.api, stack.serviceToken, 'POST', '/deploy', {
      name: 'crud-l', image: IMAGES.mockApp, limits: { memoryMb: 64, cpus: 0.25, pids: 64 },
    });
    expect(lim.status, lim.text).toBe(200);
    const li = (await inspectOrNull(lim.json.id as string))!.HostConfig;
    expect([li.Memory, li.NanoCpus, li.PidsLimit]).toEqual([64 * 1024 * 1024, 250_000_000, 64]);
    expect(li.NetworkMode).toBe(`${stack.network}-${stack.runId}-crud-l`); // network omitted: its own as well
  });
});

describe('operational endpoints (no auth)', () => {
  it('serves /metrics, /openapi.json and /healthz', async () => {
    // One instance of its own, so the gauges below have a state to show whatever ran before.
    const dep = await jsonRequest(stack.api, stack.serviceToken, 'POST', '/deploy', { name: 'crud-m', image: IMAGES.mockApp });
    expect(dep.status, dep.text).toBe(200);
    const metrics = await rawRequest(stack.api, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(String(metrics.headers['content-type'])).toContain('text/plain');
    expect(metrics.text).toMatch(/^# TYPE spawner_deploys_total counter$/m);
    expect(metrics.text).toMatch(/^spawner_deploys_total\{result="ok"\} [1-9]\d*$/m);
    expect(metrics.text).not.toContain(stack.serviceToken);
    // instances by state
    expect(metrics.text).toMatch(/^# TYPE spawner_instances gauge$/m);
    expect(metrics.text).toMatch(/^spawner_instances\{state="[a-z]+"\} \d+$/m);
    expect(metrics.text).toMatch(/^# TYPE spawner_wake_phase_seconds histogram$/m);

    const doc = await rawRequest(stack.api, 'GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(String(doc.json.openapi)).toMatch(/^3\./);
    expect(Object.keys(doc.json.paths)).toEqual(expect.arrayContaining(['/deploy', '/login', '/deploy/{nameOrId}']));

    const health = await rawRequest(stack.api, 'GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok' });

    expectProblem(await rawRequest(stack.api, 'GET', '/no-such-route'), 404, 'not_found');
  });
});
