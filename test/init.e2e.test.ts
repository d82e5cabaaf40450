/**
 * Initialization on real Docker and Traefik: the credentials reach the app, the answer comes back
 * once with POST /deploy?wait=true and later only from GET /deploy/:name/init, and nothing of it
 * is readable in the database files, the logs or the metrics. Each failure mode (500, invalid
 * JSON, oversized answer, deadline) ends in `init_failed` with its reason and nothing running; a
 * wake of such an instance gets a clear error, not the app. A kill -9 during init converges.
 * Parameterised by runtime (helpers/runtime-view.ts).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type Stack } from './helpers/stack.js';
import { startRuntimeStack, stateOf, teardownRuntimeStack, unitsOf } from './helpers/runtime-view.js';
import { IMAGES } from './helpers/docker-env.js';
import { foundInDbFiles } from './helpers/spawner-db.js';
import { followToApp, spawnerLogSince, type Instance } from './helpers/lifecycle.js';
import { pollUntil } from './helpers/poll.js';

let stack: Stack;
let token: string;
beforeAll(async () => {
  ({ stack, token } = await startRuntimeStack({ env: { SPAWNER_INIT_KEY: randomBytes(32).toString('hex') } }));
});
afterAll(async () => teardownRuntimeStack(stack, 'init'), 180_000);

const PAYLOAD_SECRET = `payload-${randomBytes(6).toString('hex')}`;

async function deployInit(name: string, envs: Record<string, string> = {}, init: Record<string, unknown> = {}, wait = true) {
  const r = await api(stack, token, 'POST', `/deploy${wait ? '?wait=true' : ''}`, {
    name, image: IMAGES.mockApp, envs: { IDLE: '0', ...envs },
    init: { path: '/init', payload: { plan: PAYLOAD_SECRET }, ...init },
  });
  if (r.status !== 200) throw new Error(`deploy ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  const inst: Instance = { name, id: String(r.body.id), hostname: name, cookie: `instance=${String(r.body.cookie.value)}` };
  return { r, inst };
}

/** The instance's unit as Docker names a container's state (on Swarm: scaled to 0 is `exited`). */
const containerState = stateOf;

describe('init happy path', () => {
  it('credentials reach the app; the answer is returned once, stored sealed, never logged', async () => {
    const { r, inst } = await deployInit('init-ok');
    expect(r.body).toMatchObject({ ready: true, init: { status: 'done', reason: null, path: '/init', when: 'once', runs: 1 } });
    const login = r.body.init.result.login as { username: string; password: string };
    expect(login.username).toMatch(/^u[0-9a-f]{12}$/);
    expect(login.password.length).toBeGreaterThanOrEqual(32);

    // The app got them (it reports the username and the payload, never the password).
    const app = await followToApp(stack, inst);
    const echo = JSON.parse(app.final.body) as { hostname: string; init: Record<string, unknown> };
    expect(echo.hostname).toBe('init-ok');
    expect(echo.init).toMatchObject({ initialized: true, username: login.username, requests: 1, payload: { plan: PAYLOAD_SECRET } });
    expect(app.final.body).not.toContain(login.password);

    // Later: only the authorized init endpoint gives the answer.
    const one = await api(stack, token, 'GET', '/deploy/init-ok');
    expect(one.body.init).toEqual({ status: 'done', reason: null });
    const list = await api(stack, token, 'GET', '/deploy');
    expect(JSON.stringify([one.body, list.body])).not.toContain(login.password);
    const again = await api(stack, token, 'GET', '/deploy/init-ok/init');
    expect(again.body.result).toEqual(r.body.init.result);
    expect((await api(stack, '', 'GET', '/deploy/init-ok/init')).status).toBe(401);

    // Nothing readable at rest, in the logs or the metrics.
    const secrets = [login.password, login.username, PAYLOAD_SECRET];
    expect(await foundInDbFiles(stack, [...secrets, 'init-ok'])).toEqual(['init-ok']); // the scan works: the name is there
    const logs = await spawnerLogSince(stack, 0);
    const metrics = await (await fetch(`${stack.api}/metrics`)).text();
    for (const s of secrets) {
      expect(logs).not.toContain(s);
      expect(metrics).not.toContain(s);
    }
    expect(logs).toMatch(/"msg":"init".*"instance":"init-ok".*"result":"ok"/);
  });
});

describe('init failure modes', () => {
  it.each([
    ['500', { INIT_FAIL: '500' }, {}, 'the instance answered status 500'],
    ['invalid JSON', { INIT_FAIL: 'invalid' }, {}, 'the answer is not JSON'],
    ['huge answer', { INIT_FAIL: 'huge' }, {}, 'the answer is larger than 65536 bytes'],
    ['deadline', { INIT_FAIL: 'hang' }, { deadlineSec: 3 }, 'no answer within 3 s (last: '],
  ] as const)('%s: init_failed with the reason, nothing running; a wake gets a clear error, not the app', async (desc, envs, init, reason) => {
    const name = `init-${desc.toLowerCase().replace(/\W+/g, '-')}`;
    const { r, inst } = await deployInit(name, envs, init);
    expect(r.body).toMatchObject({ ready: false, readyError: 'init_failed', init: { status: 'failed' } });
    expect(String(r.body.init.reason)).toContain(reason);
    expect(r.body.init.result).toBeUndefined();
    expect(await containerState(inst.id)).toBe('exited');

    // A client of the instance: the wake runs init again, which fails again; the app is not reached.
    const woke = await followToApp(stack, inst);
    expect(woke.final.status).toBe(502);
    expect(woke.final.headers['content-type']).toContain('application/problem+json');
    expect(JSON.parse(woke.final.body)).toMatchObject({ code: 'init_failed' });
    expect(woke.final.body).toContain(reason);
    expect(await containerState(inst.id)).toBe('exited');
    const events = (await api(stack, token, 'GET', `/deploy/${name}/events`)).body.events as { kind: string }[];
    expect(events.filter((e) => e.kind === 'init_failed')).toHaveLength(2);

    // An explicit retry runs it a third time, and also ends with nothing running.
    const retry = await api(stack, token, 'POST', `/deploy/${name}/init`);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ status: 'failed', runs: 3 });
    expect(await containerState(inst.id)).toBe('exited');
  });

  it('a bad init option is refused and creates nothing', async () => {
    const r = await api(stack, token, 'POST', '/deploy', { name: 'init-bad', image: IMAGES.mockApp, init: { path: '/../etc' } });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'invalid_field', field: 'init.path' });
    expect((await api(stack, token, 'GET', '/deploy/init-bad')).status).toBe(404);
  });
});

describe('examples/init/round-trip.sh', () => {
  it('runs the round trip against this stack', async () => {
    const script = fileURLToPath(new URL('../examples/init/round-trip.sh', import.meta.url));
    const { stdout } = await promisify(execFile)('bash', [script], {
      env: { PATH: process.env.PATH ?? '', SPAWNER_API: stack.api, SPAWNER_WEB: stack.web, SPAWNER_TOKEN: token, IMAGE: IMAGES.mockApp, NAME: 'init-example' },
      timeout: 180_000,
    });
    expect(stdout).toMatch(/^deployed init-example: init answered login username=u[0-9a-f]{12} password=<32 characters, shown once>$/m);
    expect(stdout).toMatch(/^the app says: initialized=true username=u[0-9a-f]{12}$/m);
    expect(stdout).toContain('GET /deploy/init-example/init: status=done');
    expect(stdout).toContain('deleted init-example');
  });
});

describe('kill -9 of the spawner during init', () => {
  it('converges at restart: marked interrupted and stopped; the next wake initializes it', async () => {
    const { inst } = await deployInit('init-kill', { INIT_DELAY: '4s' }, {}, false);
    await pollUntil('init under way', async () => {
      const r = await api(stack, token, 'GET', '/deploy/init-kill');
      return r.body.init?.status === 'running' ? true : undefined;
    }, { timeoutMs: 60_000 });
    await stack.restartSpawner('SIGKILL');
    const after = await api(stack, token, 'GET', '/deploy/init-kill');
    expect(after.body.init).toEqual({ status: 'failed', reason: 'interrupted: the spawner stopped during init' });
    expect(await containerState(inst.id)).toBe('exited');

    const woke = await followToApp(stack, inst);
    expect(woke.final.status).toBe(200);
    expect(JSON.parse(woke.final.body).init).toMatchObject({ initialized: true });
    const final = await api(stack, token, 'GET', '/deploy/init-kill/init');
    expect(final.body).toMatchObject({ status: 'done', runs: 2, result: { login: { username: expect.any(String) } } });
    // Never two containers, never an orphan.
    expect(await unitsOf(stack, 'init-kill')).toHaveLength(1);
  });
});
