/**
 * The console over HTTP (express app with the real InstanceService over FakeRuntime): sessions,
 * CSRF, origin checks, security headers, the live stream and the actions.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../auth/service.js';
import { LoginRateLimiter } from '../auth/rate-limit.js';
import { InstanceService } from '../instances/service.js';
import { TokenStore } from '../store/tokens.js';
import { createApiApp } from '../api/app.js';
import { validateDeploy } from '../api/validate.js';
import { memoryDeps } from '../testing/fixtures.js';
import { rawRequest, type Res } from '../testing/http.js';
import { ConsoleHub } from './hub.js';
import { CONSOLE_CSP } from './routes.js';
import { SESSION_COOKIE } from './session.js';


const deps = memoryDeps();
const service = new InstanceService(deps);
const auth = new AuthService({
  users: new Map([['ops', createHash('sha256').update('pw').digest('hex')]]),
  tokens: new TokenStore(deps.db), limiter: new LoginRateLimiter({}), tokenTtlSec: 3600, serviceToken: 'service-token-0123456789',
});
const hub = new ConsoleHub({ ...deps, service, startsInFlight: () => 0, debounceMs: 5, tickMs: 60_000 });
let insideAddress = false;
const app = createApiApp({
  cfg: deps.cfg, auth, service, events: deps.events, metrics: deps.metrics, isClosing: () => false, probeNonce: 'n',
  waker: { wake: async () => { throw new Error('not used'); } }, runtimes: async () => [],
  console: { auth, service, hub, tokenTtlSec: 3600, isInstanceAddress: async () => insideAddress, keepAliveMs: 50 },
});
let server: Server;
let base = '';
let cookie = '';
let csrf = '';

function send(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Res> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return rawRequest(Number(new URL(base).port), method, path, { ...(payload ? { 'content-type': 'application/json' } : {}), ...opts.headers }, payload);
}
const withSession = (extra: Record<string, string> = {}) => ({ cookie, 'x-csrf-token': csrf, ...extra });

function expectProblem(r: Res, status: number, code: string) {
  expect(r.status).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(r.json().code).toBe(code);
}

async function deploy(name: string) {
  await service.deploy(validateDeploy({ name, image: 'mock-app:latest', labels: { owner: '<b>x</b>' } }, deps.cfg, { defaultNetwork: deps.cfg.network }));
}

beforeAll(async () => {
  hub.start();
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const r = await send('POST', '/console/api/login', { body: { username: 'ops', password: 'pw' } });
  expect(r.status).toBe(200);
  cookie = String(r.headers['set-cookie']?.[0]).split(';')[0]!;
  csrf = r.json().csrf as string;
  await deploy('one');
});
afterAll(async () => {
  hub.stop();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  deps.db.close();
});

describe('console page and headers', () => {
  it('serves the page with a strict CSP, no framing, no caching, and no inline script', async () => {
    const r = await send('GET', '/console');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toMatch(/^default-src 'self';.*frame-ancestors 'none'/);
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.body).not.toMatch(/<script>|<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=/);
    expect((await send('GET', '/console/assets/console.css')).headers['content-type']).toMatch(/^text\/css/);
  });

  it('serves only plain module names as assets', async () => {
    expectProblem(await send('GET', '/console/assets/..%2f..%2fpackage.json'), 404, 'not_found');
    expectProblem(await send('GET', '/console/assets/nope.js'), 404, 'not_found');
  });

  it('refuses every console request from an instance container address', async () => {
    insideAddress = true;
    try {
      expectProblem(await send('GET', '/console'), 403, 'forbidden_origin');
      expectProblem(await send('GET', '/console/api/instances', { headers: withSession() }), 403, 'forbidden_origin');
    } finally {
      insideAddress = false;
    }
  });
});

describe('console sessions and CSRF', () => {
  it('sets an HttpOnly SameSite=Strict session cookie at login; wrong passwords get problem+json', async () => {
    const r = await send('POST', '/console/api/login', { body: { username: 'ops', password: 'pw' } });
    expect(r.headers['set-cookie']?.[0]).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=3600$`));
    expectProblem(await send('POST', '/console/api/login', { body: { username: 'ops', password: 'nope' } }), 401, 'unauthorized');
  });

  it('refuses a login from another origin, and one that is not JSON (a cross-site form)', async () => {
    expectProblem(await send('POST', '/console/api/login', { body: { username: 'ops', password: 'pw' }, headers: { origin: 'http://evil.example' } }), 403, 'csrf_invalid');
    const form = await send('POST', '/console/api/login', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(400);
  });

  it('answers who is signed in, with the CSRF token of the session', async () => {
    const r = await send('GET', '/console/api/me', { headers: { cookie } });
    expect(r.json()).toEqual({ user: 'ops', csrf });
  });

  it.each([
    ['no session', { 'x-csrf-token': 'x' }, 401, 'unauthorized'],
    ['the service token as cookie', { cookie: `${SESSION_COOKIE}=service-token-0123456789` }, 401, 'unauthorized'],
    ['no CSRF token', { cookie: '' }, 403, 'csrf_invalid'],
    ['a wrong CSRF token', { cookie: '', 'x-csrf-token': 'A'.repeat(43) }, 403, 'csrf_invalid'],
    ['another origin', { cookie: '', 'x-csrf-token': '', origin: 'http://evil.example' }, 403, 'csrf_invalid'],
  ])('refuses an action with %s, and changes nothing', async (_d, headers: Record<string, string>, status, code) => {
    const h = { ...headers };
    if (h.cookie === '') h.cookie = cookie;
    if (h['x-csrf-token'] === '') h['x-csrf-token'] = csrf;
    expectProblem(await send('POST', '/console/api/instances/one/stop', { headers: h }), status, code);
    expectProblem(await send('DELETE', '/console/api/instances/one', { headers: h }), status, code);
    expect((await service.get('one')).status).toBe('running');
  });

  it('reads need the session too', async () => {
    expectProblem(await send('GET', '/console/api/instances'), 401, 'unauthorized');
    expectProblem(await send('GET', '/console/api/stream'), 401, 'unauthorized');
  });
});

describe('console data and actions', () => {
  it('lists rows with owner labels as data (escaped only when rendered)', async () => {
    const r = await send('GET', '/console/api/instances', { headers: { cookie } });
    expect(r.json().instances).toEqual([expect.objectContaining({ name: 'one', state: 'running', labels: { owner: '<b>x</b>' }, wakes: 0 })]);
  });

  it('streams a snapshot, then the changed row when an action stops the instance', async () => {
    const got: string[] = [];
    const req = http.get(`${base}/console/api/stream`, { headers: { cookie } });
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    res.setEncoding('utf8');
    const stopped = new Promise<void>((resolve) => {
      res.on('data', (c: string) => {
        got.push(c);
        if (/event: rows\ndata: .*"name":"one","state":"exited"/.test(got.join(''))) resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(got.join('')).toMatch(/event: snapshot\ndata: \{"rows":\[\{"name":"one","state":"running"/);
    const stop = await send('POST', '/console/api/instances/one/stop', { headers: withSession({ origin: base }) });
    expect(stop.status).toBe(200);
    await stopped;
    req.destroy();
  });

  it('shows the instance page with its lifecycle log, and 404 for unknown or hostile names', async () => {
    const r = await send('GET', '/console/api/instances/one', { headers: { cookie } });
    expect(r.json().events.map((e: { kind: string }) => e.kind)).toEqual(['stopped', 'deployed']);
    expectProblem(await send('GET', '/console/api/instances/ghost', { headers: { cookie } }), 404, 'not_found');
    expectProblem(await send('GET', '/console/api/instances/..%2F', { headers: { cookie } }), 400, 'invalid_field');
  });

  it('starts and deletes with the session and its CSRF token', async () => {
    expect((await send('POST', '/console/api/instances/one/start', { headers: withSession() })).json().status).toBe('running');
    expect((await send('DELETE', '/console/api/instances/one', { headers: withSession() })).json()).toEqual({ name: 'one', status: 'removed' });
    expect(deps.instances.get('one')).toBeUndefined();
  });

  it('ends an open event stream once its session is gone (logout elsewhere, expiry)', async () => {
    const login = await send('POST', '/console/api/login', { body: { username: 'ops', password: 'pw' } });
    const c = String(login.headers['set-cookie']?.[0]).split(';')[0]!;
    const req = http.get(`${base}/console/api/stream`, { headers: { cookie: c } });
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    res.resume();
    const ended = once(res, 'end');
    auth.logout(c.slice(c.indexOf('=') + 1));
    await ended; // keep-alive is 50 ms here; the test times out if the stream stays open
  });

  it('logout ends the session: the cookie no longer works', async () => {
    const login = await send('POST', '/console/api/login', { body: { username: 'ops', password: 'pw' } });
    const c = String(login.headers['set-cookie']?.[0]).split(';')[0]!;
    const out = await send('POST', '/console/api/logout', { headers: { cookie: c, 'x-csrf-token': login.json().csrf } });
    expect(out.status).toBe(204);
    expect(out.headers['set-cookie']?.[0]).toMatch(/Max-Age=0/);
    expectProblem(await send('GET', '/console/api/me', { headers: { cookie: c } }), 401, 'unauthorized');
  });
});
