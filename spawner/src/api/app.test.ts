import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../auth/service.js';
import { LoginRateLimiter } from '../auth/rate-limit.js';
import { DEFAULTS, type Config } from '../config.js';
import { InstanceService } from '../instances/service.js';
import { TokenStore } from '../store/tokens.js';
import { createApiApp } from './app.js';
import { memoryDeps } from '../testing/fixtures.js';
import { rawRequest, type Res } from '../testing/http.js';
import { openApiDocument } from './openapi.js';
import { revisionsRouter } from './revisions-routes.js';
import { SpawnerError } from '../errors.js';
import type { InstanceRecord } from '../instances/types.js';
import type { ThroughProxyRequest } from '../readiness/probes.js';
import { listRuntimes } from '../catalogue/catalogue.js';
import { RolloutStore } from '../store/rollouts.js';
import { RolloutRunner } from '../rollouts/runner.js';
import { FakeUpgrader } from '../testing/fake-upgrader.js';
import { silentLogger } from '../log.js';
import { InstanceStats } from '../instances/stats.js';
import { StatsStore } from '../store/stats.js';
import { WakeHistory } from '../store/wake-history.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const SERVICE_TOKEN = 'home-app-service-token-0123456789';


function harness(over: Partial<Config> = {}) {
  const deps = memoryDeps({ cfg: over });
  const { db, cfg, runtime, instances, events, metrics } = deps;
  const service = new InstanceService(deps);
  const auth = new AuthService({
    users: new Map([['alice', sha256('correct horse')]]), // the original's unsalted sha256 format
    tokens: new TokenStore(db), limiter: new LoginRateLimiter({}), serviceToken: SERVICE_TOKEN, tokenTtlSec: 3600,
  });
  // A stub of the single-flight waker: records what ?wait=true asked it, succeeds unless told not to.
  const wakes: { name: string; probe: ThroughProxyRequest | undefined }[] = [];
  let wakeError: SpawnerError | null = null;
  const waker = {
    wake: async (rec: InstanceRecord, probe?: ThroughProxyRequest) => {
      wakes.push({ name: rec.name, probe });
      if (wakeError) throw wakeError;
      return { started: false, timings: { start: 0, health: 0, route: 0, probe: 0, total: 0 } };
    },
  };
  const runtimes = () => listRuntimes(runtime, cfg.allowedImages);
  const rolloutStore = new RolloutStore(db);
  const rollouts = { cfg, store: rolloutStore, runner: new RolloutRunner({ store: rolloutStore, upgrader: new FakeUpgrader(), log: silentLogger, now: () => 0 }) };
  const stats = new InstanceStats({ cfg, store: new StatsStore(db), wakes: new WakeHistory(db), instances, events, now: deps.now });
  const app = createApiApp({ cfg, auth, service, events, metrics, isClosing: () => false, waker, probeNonce: 'nonce-1', runtimes, init: deps.init, stats, rollouts });
  let server: Server;
  let port = 0;
  let token = '';

  function send(method: string, path: string, opts: { body?: unknown; raw?: string; headers?: Record<string, string>; auth?: boolean } = {}): Promise<Res> {
    const payload = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    const headers: Record<string, string> = { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) };
    if (opts.auth !== false) headers.token = token;
    Object.assign(headers, opts.headers);
    return rawRequest(port, method, path, headers, payload);
  }

  return {
    cfg, runtime, instances, events, service, app, send, wakes, rolloutStore, stats,
    failWakesWith(err: SpawnerError | null) { wakeError = err; },
    get token() { return token; },
    async start() {
      server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      port = (server.address() as AddressInfo).port;
      const login = await send('POST', '/login', { body: { username: 'alice', password: 'correct horse' }, auth: false });
      token = login.json().token as string;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      db.close();
    },
  };
}
type H = ReturnType<typeof harness>;

const deployBody = (name: string, over: Record<string, unknown> = {}) => ({ name, image: 'mock-app:latest', ...over });

function expectProblem(r: Res, status: number, code: string) {
  expect(r.status).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = r.json();
  expect(body.code).toBe(code);
  expect(body.status).toBe(status);
  expect(body.type).toBe(`https://spawner.dev/problems/${code}`);
  return body;
}

describe('deploy API over HTTP', () => {
  let h: H;
  beforeAll(async () => { h = harness(); await h.start(); });
  afterAll(async () => { await h.stop(); });
  afterEach(async () => {
    for (const r of h.instances.list()) await h.service.remove(r.name);
    h.runtime.calls.length = 0;
  });

  describe('GET /runtimes', () => {
    it('needs a token, like /deploy', async () => {
      const r = await h.send('GET', '/runtimes', { auth: false });
      expect(r.status).toBe(401);
      expect(r.json().code).toBe('unauthorized');
    });

    it('lists the allowed images on the engine, and nothing else', async () => {
      h.runtime.images.add('postgres:16');
      const r = await h.send('GET', '/runtimes');
      expect(r.status).toBe(200);
      expect(r.json().runtimes.map((e: { reference: string }) => e.reference)).toEqual(['mock-app:latest']);
      expect(r.json().runtimes[0]).toMatchObject({ present: true, port: 9000 });
      h.runtime.images.delete('postgres:16');
    });

    it('an engine that does not answer is a 503 runtime_unavailable, not a 500', async () => {
      const orig = h.runtime.listImages.bind(h.runtime);
      h.runtime.listImages = () => Promise.reject(new Error('connect ENOENT /var/run/docker.sock'));
      try {
        const r = await h.send('GET', '/runtimes');
        expect(r.status).toBe(503);
        expect(r.json().code).toBe('runtime_unavailable');
        expect(r.body).not.toContain('docker.sock');
      } finally {
        h.runtime.listImages = orig;
      }
    });
  });

  describe('login and authentication', () => {
    it('login with the right password returns a token', async () => {
      const r = await h.send('POST', '/login', { body: { username: 'alice', password: 'correct horse' }, auth: false });
      expect(r.status).toBe(200);
      expect(r.json().token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it.each([
      ['wrong password', { username: 'alice', password: 'wrong' }],
      ['unknown user', { username: 'mallory', password: 'x' }],
      ['missing fields', {}],
      ['wrong types', { username: ['alice'], password: 1 }],
    ])('%s → 401 {"message":"login invalid"} exactly', async (_d, body) => {
      const r = await h.send('POST', '/login', { body, auth: false });
      expect(r.status).toBe(401);
      expect(r.body).toBe('{"message":"login invalid"}');
      expect(r.headers['content-type']).toMatch(/^application\/json/);
    });

    it('accepts the original token header and Authorization: Bearer', async () => {
      const a = await h.send('GET', '/deploy', { headers: { token: h.token } });
      expect(a.status).toBe(200);
      const b = await h.send('GET', '/deploy', { auth: false, headers: { authorization: `Bearer ${h.token}` } });
      expect(b.status).toBe(200);
      const s = await h.send('GET', '/deploy', { auth: false, headers: { authorization: `Bearer ${SERVICE_TOKEN}` } });
      expect(s.status).toBe(200);
    });

    it.each([
      ['no token', {}],
      ['empty token header', { token: '' }],
      ['wrong token', { token: 'x'.repeat(43) }],
      ['Basic auth', { authorization: 'Basic YWxpY2U6Y29ycmVjdCBob3JzZQ==' }],
      ['Bearer without a token', { authorization: 'Bearer ' }],
    ])('%s → 401 problem+json, before anything else', async (_d, headers) => {
      for (const [method, path] of [['GET', '/deploy'], ['POST', '/deploy'], ['DELETE', '/deploy/alice'], ['PUT', '/deploy/..%2Fx']]) {
        const r = await h.send(method as string, path as string, { auth: false, headers, body: deployBody('alice') });
        const p = expectProblem(r, 401, 'unauthorized');
        expect(r.headers['www-authenticate']).toBe('Bearer');
        expect(p.detail).not.toContain(h.token);
      }
      expect(h.runtime.calls).toEqual([]);
    });
  });

  describe('instances CRUD', () => {
    it.each(['/deploy', '/deploy/'])('POST %s deploys and returns the routing cookie', async (path) => {
      const r = await h.send('POST', path, { body: deployBody('alice', { labels: { team: 'blue' } }) });
      expect(r.status).toBe(200);
      const body = r.json();
      expect(body).toMatchObject({ name: 'alice', image: 'mock-app:latest', status: 'running', labels: { team: 'blue' } });
      expect(body.id).toMatch(/^[0-9a-f]{64}$/);
      expect(body.cookie.name).toBe('instance');
      expect(body.cookie.value).toMatch(/^alice\.[0-9a-f]{32}$/);
      expect(h.runtime.mutations()).toEqual(['create', 'start']);
      expect(h.instances.get('alice')).toBeDefined();
    });

    it.each(['/deploy', '/deploy/'])('GET %s lists instances without secrets, hashes or traefik rules', async (path) => {
      const d = (await h.send('POST', '/deploy', { body: deployBody('alice') })).json();
      const secret = (d.cookie.value as string).split('.')[1] as string;
      await h.send('POST', '/deploy', { body: deployBody('bob', { public: true }) });
      const r = await h.send('GET', path);
      expect(r.status).toBe(200);
      const { instances } = r.json();
      expect(instances.map((i: { name: string }) => i.name)).toEqual(['alice', 'bob']);
      for (const i of instances) {
        for (const k of ['id', 'name', 'image', 'status', 'labels']) expect(i).toHaveProperty(k);
        expect(i).not.toHaveProperty('secretHash');
        expect(i).not.toHaveProperty('cookie');
      }
      expect(r.body).not.toContain(secret);
      expect(r.body).not.toContain(sha256(secret));
      expect(r.body).not.toContain('HeaderRegexp');
      expect(r.body).not.toContain('traefik.');
      expect(r.body).not.toMatch(/secret/i);
      const one = await h.send('GET', '/deploy/alice');
      expect(one.json()).toMatchObject({ name: 'alice', status: 'running' });
      expect(one.body).not.toContain(secret);
    });

    it('GET by container id works', async () => {
      const d = (await h.send('POST', '/deploy', { body: deployBody('alice') })).json();
      const r = await h.send('GET', `/deploy/${(d.id as string).slice(0, 12)}`);
      expect(r.json().name).toBe('alice');
    });

    it('PUT and POST …/start start a stopped instance; POST …/stop stops it', async () => {
      await h.send('POST', '/deploy', { body: deployBody('alice') });
      const stop = await h.send('POST', '/deploy/alice/stop');
      expect(stop.status).toBe(200);
      expect(stop.json().status).toBe('exited');
      const put = await h.send('PUT', '/deploy/alice');
      expect(put.status).toBe(200);
      expect(put.json().status).toBe('running');
      await h.send('POST', '/deploy/alice/stop');
      const start = await h.send('POST', '/deploy/alice/start');
      expect(start.json().status).toBe('running');
      expect(h.runtime.mutations()).toEqual(['create', 'start', 'stop', 'start', 'stop', 'start']);
      const ev = await h.send('GET', '/deploy/alice/events');
      const kinds = ev.json().events.map((e: { kind: string }) => e.kind) as string[];
      // History outlives removal (earlier tests used the name too): look at this deployment's tail.
      expect(kinds.slice(kinds.lastIndexOf('deployed'))).toEqual(['deployed', 'stopped', 'started', 'stopped', 'started']);
    });

    it('DELETE removes the container and the row', async () => {
      const d = (await h.send('POST', '/deploy', { body: deployBody('alice') })).json();
      const r = await h.send('DELETE', '/deploy/alice');
      expect(r.status).toBe(200);
      expect(r.json()).toEqual({ id: d.id, name: 'alice', status: 'removed' });
      expect(h.runtime.containers.size).toBe(0);
      expect(h.instances.get('alice')).toBeUndefined();
      expectProblem(await h.send('DELETE', '/deploy/alice'), 404, 'not_found');
      expectProblem(await h.send('GET', '/deploy/alice'), 404, 'not_found');
      expectProblem(await h.send('PUT', '/deploy/alice'), 404, 'not_found');
    });

    it('a duplicate deploy → 409 conflict and no second create', async () => {
      await h.send('POST', '/deploy', { body: deployBody('alice') });
      expectProblem(await h.send('POST', '/deploy', { body: deployBody('alice') }), 409, 'conflict');
      expect(h.runtime.mutations()).toEqual(['create', 'start']);
    });

    it('unknown routes → 404 problem', async () => {
      expectProblem(await h.send('GET', '/nope'), 404, 'not_found');
      expectProblem(await h.send('PATCH', '/deploy/alice'), 404, 'not_found');
    });

    it('healthz and metrics answer without a token', async () => {
      expect((await h.send('GET', '/healthz', { auth: false })).json()).toEqual({ status: 'ok' });
      const m = await h.send('GET', '/metrics', { auth: false });
      expect(m.headers['content-type']).toMatch(/^text\/plain/);
      expect(m.body).toContain('# TYPE spawner_deploys_total counter');
    });
  });

  describe('status of one instance (stats)', () => {
    it('GET /deploy/:name has requests by class, last request, uptime and wakes; the list stays without them', async () => {
      const d = (await h.send('POST', '/deploy', { body: deployBody('alice') })).json();
      const startedAt = new Date(Date.now() - 42_000).toISOString();
      (h.runtime.containers.get(d.id) as { startedAt?: string }).startedAt = startedAt;
      const at = Date.now();
      h.stats.observe({ series: [
        { instance: 'alice', key: 'k200', code: '200', value: 3 }, { instance: 'alice', key: 'k404', code: '404', value: 2 },
      ] }, at);
      h.events.append({ instance: 'alice', kind: 'wake', detail: { started: true, total: 812 } }, at);
      const r = await h.send('GET', '/deploy/alice');
      expect(r.status).toBe(200);
      const { stats } = r.json();
      expect(stats).toMatchObject({
        requests: 5, responses: { '1xx': 0, '2xx': 3, '3xx': 0, '4xx': 2, '5xx': 0, other: 0 },
        lastRequestAt: new Date(at).toISOString(), startedAt,
        wakes: { count: 1, failed: 0, lastMs: 812, medianMs: 812, lastAt: new Date(at).toISOString() },
      });
      expect(stats.uptimeSec).toBeGreaterThanOrEqual(42);
      expect(stats.uptimeSec).toBeLessThan(100);
      const list = (await h.send('GET', '/deploy')).json();
      expect(list.instances[0]).not.toHaveProperty('stats');
    });

    it('a stopped instance has no uptime', async () => {
      await h.send('POST', '/deploy', { body: deployBody('alice') });
      await h.send('POST', '/deploy/alice/stop');
      const { stats } = (await h.send('GET', '/deploy/alice')).json();
      expect(stats).toMatchObject({ requests: 0, startedAt: null, uptimeSec: null, wakes: { count: 0, lastMs: null } });
    });
  });

  describe('OpenAPI document matches the routes the app serves', () => {
    /** Routes as the app mounts them, read from express 5's router stack. */
    function mountedRoutes(): string[] {
      const stack = (h.app as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }).router.stack;
      const out: string[] = [];
      for (const layer of stack) {
        if (!layer.route) continue;
        const path = layer.route.path.replace(/:(\w+)/g, '{$1}');
        for (const m of Object.keys(layer.route.methods)) out.push(`${m.toUpperCase()} ${path}`);
      }
      return out.sort();
    }
    function documented(): string[] {
      const out: string[] = [];
      for (const [path, item] of Object.entries(openApiDocument().paths)) {
        for (const m of Object.keys(item)) if (m !== 'parameters') out.push(`${m.toUpperCase()} ${path}`);
      }
      return out.sort();
    }
    const HAND_WRITTEN = [
      'GET /healthz', 'GET /metrics', 'GET /openapi.json', 'POST /login',
      'GET /deploy', 'POST /deploy', 'GET /deploy/{nameOrId}', 'PUT /deploy/{nameOrId}', 'DELETE /deploy/{nameOrId}',
      'GET /deploy/{nameOrId}/events', 'POST /deploy/{nameOrId}/start', 'POST /deploy/{nameOrId}/stop',
      'GET /runtimes', 'GET /deploy/{nameOrId}/init', 'POST /deploy/{nameOrId}/init', 'DELETE /deploy/{nameOrId}/identity',
      'GET /rollouts', 'POST /rollouts', 'GET /rollouts/{id}', 'POST /rollouts/{id}/pause', 'POST /rollouts/{id}/resume', 'POST /rollouts/{id}/abort',
      'GET /volumes', 'DELETE /volumes/{name}',
    ].sort();

    /** Served by api/revisions-routes.ts under /deploy when the app has a redeployer. */
    const REVISIONS = ['GET /deploy/{nameOrId}/revisions', 'POST /deploy/{nameOrId}/revisions', 'POST /deploy/{nameOrId}/rollback'];
    function revisionRoutes(): string[] {
      const r = revisionsRouter({ cfg: DEFAULTS, service: {} as never, redeployer: {} as never, isClosing: () => false });
      return (r as unknown as { stack: { route?: { path: string; methods: Record<string, boolean> } }[] }).stack
        .flatMap((l) => (l.route ? Object.keys(l.route.methods).map((m) => `${m.toUpperCase()} /deploy${l.route?.path.replace(/:(\w+)/g, '{$1}') ?? ''}`) : []));
    }

    it('router stack == OpenAPI paths == the hand-written list', async () => {
      expect(mountedRoutes()).toEqual(HAND_WRITTEN);
      expect(revisionRoutes().sort()).toEqual([...REVISIONS].sort());
      expect(documented()).toEqual([...HAND_WRITTEN, ...REVISIONS].sort());
      const served = await h.send('GET', '/openapi.json', { auth: false });
      expect(served.status).toBe(200);
      expect(Object.keys(served.json().paths).sort()).toEqual(Object.keys(openApiDocument().paths).sort());
    });

    it('every documented route answers something other than the not-found fallback', async () => {
      await h.send('POST', '/deploy', { body: { ...deployBody('alice'), init: { path: '/init' } } });
      const rollout = h.rolloutStore.create({ selector: { image: 'mock-app:*' }, target: { image: 'mock-app:v2' }, canary: 0, waveSize: 1, waveDelaySec: 0, maxFailureRatio: 0 }, [{ name: 'alice', wave: 0 }], 'alice', 0);
      for (const route of HAND_WRITTEN) {
        const [method, path] = route.split(' ') as [string, string];
        if (method === 'DELETE' || method === 'POST') continue; // covered above; avoid side effects here
        const r = await h.send(method, path.replace('{nameOrId}', 'alice').replace('{id}', String(rollout)), { auth: true });
        expect(r.body, route).not.toContain('no such route');
        expect(r.status, route).toBeLessThan(400);
      }
    });
  });

  describe('hostile requests: 4xx problem+json, no engine mutation, no row', () => {
    type Case = { desc: string; code: string; status?: number; body?: unknown; raw?: string; method?: string; path?: string };
    const big = 'x'.repeat(DEFAULTS.maxBodyBytes + 1);
    const cases: Case[] = [
      { desc: 'rule injection in name', code: 'invalid_field', body: deployBody('x`) || PathPrefix(`/') },
      { desc: 'rule injection with a dot', code: 'invalid_field', body: deployBody('a.b') },
      { desc: 'the identity credential set by the caller', code: 'invalid_field', body: { ...deployBody('x'), envs: { SPAWNER_IDENTITY_TOKEN: 'sid1.mine' } } },
      { desc: 'the self URL set by the caller', code: 'invalid_field', body: { ...deployBody('x'), envs: { SPAWNER_SELF_URL: 'http://evil/' } } },
      { desc: 'an init path that climbs', code: 'invalid_field', body: { ...deployBody('x'), init: { path: '/a/../../x' } } },
      { desc: 'uppercase name', code: 'invalid_field', body: deployBody('Alice') },
      { desc: 'name starting with a dash', code: 'invalid_field', body: deployBody('-a') },
      { desc: 'name of 64 characters', code: 'invalid_field', body: deployBody('a'.repeat(64)) },
      { desc: 'name with a slash', code: 'invalid_field', body: deployBody('../etc') },
      { desc: 'name missing', code: 'invalid_field', body: { image: 'mock-app:latest' } },
      { desc: 'name not a string', code: 'invalid_field', body: deployBody(42 as unknown as string) },
      { desc: 'label hijacks the home router rule', code: 'label_forbidden', body: deployBody('a', { labels: { 'traefik.http.routers.home.rule': 'PathPrefix(`/`)' } }) },
      { desc: 'label sets its own router priority', code: 'label_forbidden', body: deployBody('a', { labels: { 'traefik.http.routers.spawner-i-a.priority': '999999' } }) },
      { desc: 'label points the service at another url', code: 'label_forbidden', body: deployBody('a', { labels: { 'traefik.http.services.spawner-i-a.loadbalancer.server.url': 'http://169.254.169.254/' } }) },
      { desc: 'label disables traefik', code: 'label_forbidden', body: deployBody('a', { labels: { 'traefik.enable': 'false' } }) },
      { desc: 'mixed-case traefik label', code: 'label_forbidden', body: deployBody('a', { labels: { 'Traefik.HTTP.Routers.home.Rule': 'x' } }) },
      { desc: 'label forges origin', code: 'label_forbidden', body: deployBody('a', { labels: { origin: 'spawner' } }) },
      { desc: 'label forges spawner.id', code: 'label_forbidden', body: deployBody('a', { labels: { 'spawner.id': 'other' } }) },
      { desc: 'docker-reserved label', code: 'label_forbidden', body: deployBody('a', { labels: { 'com.docker.compose.project': 'x' } }) },
      { desc: 'privileged', code: 'invalid_field', body: deployBody('a', { privileged: true }) },
      { desc: 'HostConfig', code: 'invalid_field', body: deployBody('a', { HostConfig: { Privileged: true, Binds: ['/:/host'] } }) },
      { desc: 'Binds with a host path', code: 'invalid_field', body: deployBody('a', { Binds: ['/var/run/docker.sock:/var/run/docker.sock'] }) },
      { desc: 'cap_add', code: 'invalid_field', body: deployBody('a', { cap_add: ['SYS_ADMIN'] }) },
      { desc: 'volumes with host paths', code: 'invalid_field', body: deployBody('a', { volumes: ['/etc:/etc'] }) },
      { desc: 'NetworkMode host', code: 'invalid_field', body: deployBody('a', { NetworkMode: 'host' }) },
      { desc: '__proto__ smuggling', code: 'invalid_field', raw: '{"name":"a","image":"mock-app:latest","__proto__":{"privileged":true}}' },
      { desc: 'network host', code: 'network_not_allowed', body: deployBody('a', { network: 'host' }) },
      { desc: 'network container:<id>', code: 'network_not_allowed', body: deployBody('a', { network: 'container:abc' }) },
      { desc: 'unknown network', code: 'network_not_allowed', body: deployBody('a', { network: 'someone-elses-net' }) },
      { desc: 'disallowed image', code: 'image_not_allowed', body: deployBody('a', { image: 'alpine:latest' }) },
      { desc: 'image with a registry not allowed', code: 'image_not_allowed', body: deployBody('a', { image: 'evil.example.com/mock-app:latest' }) },
      { desc: 'image path traversal', code: 'invalid_field', body: deployBody('a', { image: '../mock-app:latest' }) },
      { desc: 'image with shell metacharacters', code: 'invalid_field', body: deployBody('a', { image: 'mock-app:latest;rm -rf /' }) },
      { desc: 'port as a string', code: 'invalid_field', body: deployBody('a', { port: '80' }) },
      { desc: 'port 0', code: 'invalid_field', body: deployBody('a', { port: 0 }) },
      { desc: 'port 70000', code: 'invalid_field', body: deployBody('a', { port: 70_000 }) },
      { desc: 'public as a string', code: 'invalid_field', body: deployBody('a', { public: 'true' }) },
      { desc: 'routing not a mode', code: 'invalid_field', body: deployBody('a', { routing: 'PathPrefix(`/`)' }) },
      { desc: 'envs not an object', code: 'invalid_field', body: deployBody('a', { envs: ['A=1'] }) },
      { desc: 'env value not a string', code: 'invalid_field', body: deployBody('a', { envs: { A: 1 } }) },
      { desc: 'env key with =', code: 'invalid_field', body: deployBody('a', { envs: { 'A=B': 'x' } }) },
      { desc: 'labels not an object', code: 'invalid_field', body: deployBody('a', { labels: 'traefik.enable=true' }) },
      { desc: 'memory above the cap', code: 'limit_exceeded', body: deployBody('a', { limits: { memoryMb: 1_000_000 } }) },
      { desc: 'negative cpus', code: 'limit_exceeded', body: deployBody('a', { limits: { cpus: -1 } }) },
      { desc: 'healthCheck file URL', code: 'invalid_field', body: deployBody('a', { healthCheck: 'file:///etc/passwd' }) },
      { desc: 'healthCheck with credentials', code: 'invalid_field', body: deployBody('a', { healthCheck: 'http://u:p@x/' }) },
      { desc: 'health-check label with a backtick', code: 'invalid_field', body: deployBody('a', { labels: { 'health-check': 'http://x/`)' } }) },
      { desc: 'body is an array', code: 'invalid_json', body: [deployBody('a')] },
      { desc: 'body is a JSON string', code: 'invalid_json', raw: '"{\\"name\\":\\"a\\"}"' },
      { desc: 'body is null', code: 'invalid_json', raw: 'null' },
      { desc: 'empty body (parsed as {}: name missing)', code: 'invalid_field', raw: '' },
      { desc: 'invalid JSON text', code: 'invalid_json', raw: '{"name": "a", "image": ' },
      { desc: 'JSON with a trailing comma', code: 'invalid_json', raw: '{"name":"a",}' },
      { desc: 'body over maxBodyBytes', code: 'body_too_large', status: 413, body: deployBody('a', { labels: { x: big } }) },
      { desc: 'path traversal id %2F (GET)', code: 'invalid_field', method: 'GET', path: '/deploy/..%2F..%2Fetc' },
      { desc: 'path traversal id %2F (DELETE)', code: 'invalid_field', method: 'DELETE', path: '/deploy/..%2F..%2Fetc' },
      { desc: 'path traversal id %2F (PUT)', code: 'invalid_field', method: 'PUT', path: '/deploy/..%2F..%2Fetc' },
      { desc: 'dot-dot id %2e%2e (GET)', code: 'invalid_field', method: 'GET', path: '/deploy/%2e%2e' },
      { desc: 'dot-dot id %2e%2e (DELETE)', code: 'invalid_field', method: 'DELETE', path: '/deploy/%2e%2e' },
      { desc: 'dot-dot id %2e%2e (stop)', code: 'invalid_field', method: 'POST', path: '/deploy/%2e%2e/stop' },
      { desc: 'raw .. id', code: 'invalid_field', method: 'GET', path: '/deploy/..' },
      { desc: 'NUL in id', code: 'invalid_field', method: 'GET', path: '/deploy/a%00' },
      { desc: 'unicode id', code: 'invalid_field', method: 'GET', path: '/deploy/%E2%80%AEalice' },
      { desc: 'malformed percent-encoding in id', code: 'invalid_field', method: 'DELETE', path: '/deploy/%E0%A4%A' },
      { desc: 'lone % in id', code: 'invalid_field', method: 'GET', path: '/deploy/%' },
    ];

    it('has at least 25 cases', () => {
      expect(cases.length).toBeGreaterThanOrEqual(25);
    });

    it.each(cases)('$desc → $code', async (c) => {
      // a live instance beforehand must stay untouched
      if (c.method) await h.send('POST', '/deploy', { body: deployBody('victim') });
      const before = h.runtime.mutations().length;
      const r = await h.send(c.method ?? 'POST', c.path ?? '/deploy', c.raw !== undefined ? { raw: c.raw } : { body: c.body });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      const p = expectProblem(r, c.status ?? 400, c.code);
      expect(p.detail).not.toMatch(/at .*\.(ts|js):\d+/); // no stack traces
      expect(h.runtime.mutations().length).toBe(before);
      if (c.method) {
        expect(h.instances.list().map((x) => x.name)).toEqual(['victim']);
        expect(h.runtime.containers.size).toBe(1);
      } else {
        expect(h.runtime.mutations()).toEqual([]);
        expect(h.instances.count()).toBe(0);
      }
    });
  });
});

describe('POST /deploy?wait=true', () => {
  let h: H;
  beforeAll(async () => { h = harness(); await h.start(); });
  afterAll(async () => { await h.stop(); });

  it('waits for the same readiness gate as a wake, probing through Traefik with the new cookie', async () => {
    const r = await h.send('POST', '/deploy?wait=true', { body: deployBody('w1') });
    expect(r.status).toBe(200);
    const body = r.json();
    expect(body.ready).toBe(true);
    expect(body.readyError).toBeUndefined();
    expect(h.wakes).toHaveLength(1);
    expect(h.wakes[0]?.name).toBe('w1');
    expect(h.wakes[0]?.probe?.headers.cookie).toBe(`instance=${body.cookie.value}`);
    expect(h.wakes[0]?.probe?.headers['x-spawner-probe']).toBe('nonce-1');
  });

  it('without wait nothing waits', async () => {
    const before = h.wakes.length;
    const r = await h.send('POST', '/deploy', { body: deployBody('w2') });
    expect(r.status).toBe(200);
    expect(r.json().ready).toBeUndefined();
    expect(h.wakes).toHaveLength(before);
  });

  it('a failed readiness keeps the instance and says why', async () => {
    h.failWakesWith(new SpawnerError('wake_timeout', 'too slow'));
    const r = await h.send('POST', '/deploy?wait=1', { body: deployBody('w3') });
    h.failWakesWith(null);
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ name: 'w3', ready: false, readyError: 'wake_timeout' });
    expect(h.instances.get('w3')).toBeDefined();
  });
});

describe('deploy API while shutting down', () => {
  it('POST /deploy → 503 shutting_down; healthz says so', async () => {
    const deps = memoryDeps({ cfg: { authDisabled: true }, spawnerId: 'sp', now: () => 0 });
    const { db, cfg, runtime } = deps;
    const auth = new AuthService({ users: null, tokens: new TokenStore(db), limiter: new LoginRateLimiter({}), tokenTtlSec: 60 });
    const app = createApiApp({ cfg, auth, service: new InstanceService(deps), events: deps.events, metrics: deps.metrics, isClosing: () => true, waker: { wake: () => Promise.reject(new Error('unused')) }, probeNonce: 'n', runtimes: async () => [] });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const r = await fetch(`${base}/deploy`, { method: 'POST', body: JSON.stringify(deployBody('a')) });
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('5');
      expect((await r.json()).code).toBe('shutting_down');
      const hz = await fetch(`${base}/healthz`);
      expect(hz.status).toBe(503);
      expect(await hz.json()).toEqual({ status: 'shutting_down' });
      expect(runtime.mutations()).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      db.close();
    }
  });
});
