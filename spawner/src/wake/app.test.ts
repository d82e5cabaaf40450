import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS, type Config } from '../config.js';
import { silentLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import type { InstanceDeps } from '../instances/deps.js';
import { InstanceService } from '../instances/service.js';
import { Waker } from '../instances/waker.js';
import type { DeploySpec } from '../instances/types.js';
import { HealthWatcher } from '../readiness/health.js';
import { FakeRuntime } from '../runtime/fake.js';
import { openDatabase, type Database } from '../store/db.js';
import { EventLog } from '../store/events.js';
import { InstanceStore } from '../store/instances.js';
import type { TraefikApi } from '../traefik/api.js';
import { createWakeApp } from './app.js';

const NONCE = 'probe-nonce-0123456789';
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Res { status: number; headers: IncomingHttpHeaders; body: string }

function send(port: number, opts: { method?: string; path?: string; headers?: Record<string, string> } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers ?? {}, agent: false,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function harness(over: Partial<Config> = {}, closing = false) {
  const db: Database = openDatabase(':memory:');
  const cfg: Config = { ...structuredClone(DEFAULTS), probeThroughProxy: false, ...over };
  const runtime = new FakeRuntime();
  runtime.images.add('mock-app:latest');
  runtime.healthOnStart = 'healthy';
  const instances = new InstanceStore(db);
  const deps: InstanceDeps = {
    cfg, runtime, instances, events: new EventLog(db), spawnerId: 'sp-test', log: silentLogger,
    metrics: createMetrics(), now: () => Date.now(),
  };
  const service = new InstanceService(deps);
  const health = new HealthWatcher(runtime);
  const traefik = {
    async router() { return { status: 'enabled' }; },
    async service() {
      return { serverUrls: [...runtime.containers.values()].flatMap((c) => Object.values(c.ips).map((ip) => `http://${ip}:9000`)) };
    },
  } as unknown as TraefikApi;
  const waker = new Waker(deps, service, { cfg, runtime, health, traefik, now: deps.now });
  const abort = new AbortController();
  runtime.watch({}, (ev) => health.onEvent(ev), { signal: abort.signal });
  const server: Server = createWakeApp({ cfg, instances, waker, service, probeNonce: NONCE, isClosing: () => closing })
    .listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  cleanups.push(() => { db.close(); });
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  cleanups.push(() => abort.abort());
  /** Deploys `name`, stops it, forgets the calls so far; returns the routing cookie header. */
  const sleeping = async (name: string, extra: Partial<DeploySpec> = {}) => {
    const res = await service.deploy({
      name, image: 'mock-app:latest', network: 'spawner', port: 9000, routing: 'cookie', public: false, egress: true,
      labels: {}, traefikLabels: {}, env: {}, limits: { memoryMb: 256, cpus: 0.5, pids: 256 }, ...extra,
    });
    await service.stop(name);
    runtime.calls.length = 0;
    return { cookie: `${res.cookie.name}=${res.cookie.value}`, value: res.cookie.value, id: res.view.id as string };
  };
  /** Waits for the background wake of a browser request (joins its flight, or is a no-op). */
  const settle = async (name: string) => {
    const rec = instances.get(name);
    if (rec && waker.inFlight(name)) await waker.wake(rec).catch(() => undefined);
  };
  return { cfg, runtime, instances, service, waker, port, sleeping, settle };
}

const starts = (rt: FakeRuntime) => rt.calls.filter((c) => c.op === 'start').length;
const withoutDate = (h: IncomingHttpHeaders) => {
  const { date: _date, ...rest } = h;
  return rest;
};

describe('wake listener: requests without a valid cookie', () => {
  it('browser navigation → 302 to homeUrl, no engine call', async () => {
    const h = await harness();
    const r = await send(h.port, { path: '/some/page', headers: { accept: BROWSER } });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('/home');
    expect(r.headers['x-spawner-wake']).toBe('1');
    expect(h.runtime.calls).toEqual([]);
  });

  it('a browser already at the home URL (home app down or not routed) is not redirected in a loop', async () => {
    const h = await harness();
    for (const path of ['/home', '/home/']) {
      const r = await send(h.port, { path, headers: { accept: BROWSER } });
      expect(r.status).toBe(404);
      expect(r.headers.location).toBeUndefined();
      expect(r.body).toContain('Page not available');
    }
    const below = await send(h.port, { path: '/home/signup', headers: { accept: BROWSER } });
    expect(below.status).toBe(302);
    expect(h.runtime.calls).toEqual([]);
  });

  it('API client → 401 problem+json', async () => {
    const h = await harness();
    const r = await send(h.port, { path: '/api/x', headers: { accept: 'application/json' } });
    expect(r.status).toBe(401);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(r.body)).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(h.runtime.calls).toEqual([]);
  });

  it('a forged cookie gets the byte-identical answer as no cookie, with zero runtime calls', async () => {
    const h = await harness();
    const { value } = await h.sleeping('alice');
    const forged = [
      `instance=alice.${'0'.repeat(32)}`,
      'instance=alice',
      'instance=nobody',
      `instance=nobody.${'1'.repeat(32)}`,
      `instance=${value.toUpperCase()}`,
      'instance=x`) || PathPrefix(`/',
    ];
    for (const accept of [BROWSER, '*/*']) {
      const base = await send(h.port, { path: '/p?q=1', headers: { accept } });
      for (const cookie of forged) {
        const r = await send(h.port, { path: '/p?q=1', headers: { accept, cookie } });
        expect(r.status).toBe(base.status);
        expect(r.body).toBe(base.body);
        expect(withoutDate(r.headers)).toEqual(withoutDate(base.headers));
      }
    }
    expect(h.runtime.calls).toEqual([]);
  });

  it('a valid cookie of one instance does not wake another by host or path', async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const r = await send(h.port, { path: '/app/alice/', headers: { cookie } });
    expect(r.status).toBe(401);
    expect(h.runtime.calls).toEqual([]);
  });
});

describe('wake listener: malformed request paths', () => {
  it.each(['/%', '/a/%E0%A4%A', '/%ZZ?x=1'])('%s is handled like any other path (no stack trace, no 5xx)', async (path) => {
    const h = await harness();
    const api = await send(h.port, { path });
    expect(api.status).toBe(401);
    expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(api.body).not.toMatch(/URIError|node_modules|at /);
    const page = await send(h.port, { path, headers: { accept: BROWSER } });
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe('/home');
    const { cookie } = await h.sleeping('alice');
    const woken = await send(h.port, { path, headers: { cookie } });
    expect(woken.status).toBe(307);
    expect(woken.headers.location?.startsWith('/')).toBe(true);
    expect(woken.headers.location?.[1]).not.toBe('/');
  });
});

describe('wake listener: requests that must never wake', () => {
  it('HEAD with a valid cookie → 503 + Retry-After, no engine call', async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const r = await send(h.port, { method: 'HEAD', path: '/', headers: { cookie, accept: BROWSER } });
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('2');
    expect(h.runtime.calls).toEqual([]);
    expect(h.waker.inFlight('alice')).toBe(false);
  });

  it.each<Record<string, string>>([
    { 'sec-purpose': 'prefetch' },
    { 'sec-purpose': 'prefetch;prerender' },
    { purpose: 'prefetch' },
    { 'x-moz': 'prefetch' },
  ])('prefetch %j with a valid cookie → 503, no engine call', async (hdr) => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const r = await send(h.port, { path: '/', headers: { cookie, accept: BROWSER, ...hdr } });
    expect(r.status).toBe(503);
    expect(h.runtime.calls).toEqual([]);
  });

  it("the gate's own probe (nonce header) is answered at once and wakes nothing", async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const r = await send(h.port, { headers: { cookie, 'x-spawner-probe': NONCE } });
    expect(r.status).toBe(503);
    expect(r.headers['x-spawner-wake']).toBe('1');
    expect(h.runtime.calls).toEqual([]);
  });

  it('while shutting down → 503 shutting_down, no engine call', async () => {
    const h = await harness({}, true);
    const { cookie } = await h.sleeping('alice');
    const r = await send(h.port, { headers: { cookie } });
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).code).toBe('shutting_down');
    expect(h.runtime.mutations()).toEqual([]);
  });
});

describe('wake listener: valid cookie', () => {
  it('browser → 200 self-contained waiting page, no-store, noscript refresh; the wake runs', async () => {
    const h = await harness();
    const { cookie, id } = await h.sleeping('alice');
    const r = await send(h.port, { path: '/docs/a?b=1', headers: { cookie, accept: BROWSER } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.body).toContain('<noscript><meta http-equiv="refresh" content="2;url=/docs/a?b=1">');
    expect(r.body).not.toMatch(/\ssrc\s*=/i);
    expect(r.body).not.toMatch(/href\s*=\s*["']?(https?:)?\/\//i);
    expect(r.body).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
    expect(r.body).toContain('<html lang="en">');
    await h.settle('alice');
    expect(starts(h.runtime)).toBe(1);
    expect(h.runtime.containers.get(id)?.state).toBe('running');
  });

  it('the waiting page escapes the target', async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const r = await send(h.port, { path: '/x?a=%22%3E%3Cscript%3E&b="><img', headers: { cookie, accept: BROWSER } });
    expect(r.status).toBe(200);
    expect(r.body).not.toContain('"><img');
    expect(r.body).toContain('&quot;&gt;&lt;img');
    await h.settle('alice');
  });

  it('curl-like client → 307 to the same path+query with Server-Timing and a round cookie', async () => {
    const h = await harness();
    const { cookie, id } = await h.sleeping('alice');
    const r = await send(h.port, { path: '/api/v1/items?x=1&y=%2F', headers: { cookie, accept: '*/*' } });
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe('/api/v1/items?x=1&y=%2F');
    expect(r.headers['server-timing']).toMatch(/^start;dur=\d+, health;dur=\d+, route;dur=\d+, probe;dur=\d+, total;dur=\d+$/);
    expect(String(r.headers['set-cookie'])).toMatch(/^spawner_wake_round=alice%3A1;.*HttpOnly/);
    expect(starts(h.runtime)).toBe(1);
    expect(h.runtime.containers.get(id)?.state).toBe('running');
  });

  it('POST is redirected with 307 (method and body preserved by the client)', async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const r = await send(h.port, { method: 'POST', path: '/form', headers: { cookie } });
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe('/form');
  });

  it('forged Host / X-Forwarded-Host / X-Forwarded-Proto never change Location', async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const r = await send(h.port, {
      path: '/p?q=1',
      headers: {
        cookie, host: 'evil.com', 'x-forwarded-host': 'evil.com', 'x-forwarded-proto': 'https',
        'x-original-url': '//evil.com/', forwarded: 'host=evil.com',
      },
    });
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe('/p?q=1');
  });

  it.each([
    ['//evil.com/x', '/evil.com/x'],
    ['/\\evil.com', '/evil.com'],
    ['http://evil.com/x?y=1', '/x?y=1'],
  ])('request target %j → Location %j', async (path, location) => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const r = await send(h.port, { path, headers: { cookie } });
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe(location);
  });

  it('public cookie-mode instances wake with the bare name', async () => {
    const h = await harness();
    await h.sleeping('pub', { public: true });
    const r = await send(h.port, { headers: { cookie: 'instance=pub' } });
    expect(r.status).toBe(307);
    expect(starts(h.runtime)).toBe(1);
  });

  it('a failed wake → 502 wake_failed problem with Retry-After', async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    h.runtime.failStart = true;
    const r = await send(h.port, { headers: { cookie } });
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.headers['retry-after']).toBe('5');
    expect(JSON.parse(r.body)).toMatchObject({ code: 'wake_failed' });
    expect(r.body).not.toContain('start failed'); // the engine's message stays internal
  });

  it('over capacity, the line full too → 503 over_capacity with Retry-After and no start', async () => {
    const h = await harness({ maxConcurrentStarts: 0, maxQueuedWakes: 0 });
    const { cookie } = await h.sleeping('alice');
    const r = await send(h.port, { headers: { cookie } });
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('2');
    expect(JSON.parse(r.body).code).toBe('over_capacity');
    expect(h.runtime.mutations()).toEqual([]);
  });

  it('the event stream reports ready for a valid cookie and 401 without', async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const ok = await send(h.port, { path: '/.spawner/wake-stream', headers: { cookie } });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(ok.body).toMatch(/event: ready\ndata: ok\n\n$/);
    const no = await send(h.port, { path: '/.spawner/wake-stream' });
    expect(no.status).toBe(401);
    expect(starts(h.runtime)).toBe(1);
  });
});

describe('wake listener: loop guard', () => {
  it('rounds beyond loopGuardRounds end in 508 route_loop', async () => {
    const h = await harness({ loopGuardRounds: 0 });
    const { cookie } = await h.sleeping('alice');
    const first = await send(h.port, { path: '/x', headers: { cookie } });
    expect(first.status).toBe(307);
    const round = String(first.headers['set-cookie']).split(';')[0] ?? '';
    expect(round).toBe('spawner_wake_round=alice%3A1');
    // The instance is up now, but the proxy sent the client back to us.
    const again = await send(h.port, { path: '/x', headers: { cookie: `${cookie}; ${round}` } });
    expect(again.status).toBe(508);
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(again.body)).toMatchObject({ code: 'route_loop', status: 508 });
    expect(again.headers.location).toBeUndefined();
  });

  it('with the default rounds, an exhausted round cookie is refused at once (browser gets an HTML page)', async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const over = `spawner_wake_round=alice%3A${h.cfg.loopGuardRounds + 1}`;
    const api = await send(h.port, { headers: { cookie: `${cookie}; ${over}` } });
    expect(api.status).toBe(508);
    const page = await send(h.port, { headers: { cookie: `${cookie}; ${over}`, accept: BROWSER } });
    expect(page.status).toBe(508);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(h.runtime.mutations()).toEqual([]);
  });

  it("another instance's round cookie does not count", async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const r = await send(h.port, { headers: { cookie: `${cookie}; spawner_wake_round=bob%3A99` } });
    expect(r.status).toBe(307);
  });
});

describe('wake listener: recovery of gateway errors (Traefik errors middleware)', () => {
  const recoverPath = (port: number, path: string, status = 502) =>
    `/.spawner/recover?url=${encodeURIComponent(`http://127.0.0.1:${port}${path}`)}&status=${status}`;
  const setStartedAt = (h: Awaited<ReturnType<typeof harness>>, id: string, msAgo: number) => {
    const c = h.runtime.containers.get(id);
    if (!c) throw new Error('no container');
    c.startedAt = new Date(Date.now() - msAgo).toISOString();
  };

  it('a stopped instance (the request raced its stop) is woken and the client sent back to its URL', async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const r = await send(h.port, { path: recoverPath(h.port, '/a/b?x=1&y=%2F'), headers: { cookie } });
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe('/a/b?x=1&y=%2F');
    expect(starts(h.runtime)).toBe(1);
    expect(String(r.headers['set-cookie'])).toContain('spawner_wake_round=alice%3A1');
  });

  it('an app running steadily answered the 502 itself: sent to the app-error page, nothing started', async () => {
    const h = await harness();
    const { cookie, id } = await h.sleeping('alice');
    await h.service.start('alice');
    setStartedAt(h, id, 60_000);
    h.runtime.calls.length = 0;
    const r = await send(h.port, { path: recoverPath(h.port, '/x?q=1', 504), headers: { cookie } });
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe(`/.spawner/app-error?status=504&to=${encodeURIComponent('/x?q=1')}`);
    expect(h.runtime.mutations()).toEqual([]);
  });

  it('an app started moments ago (a stop race replaced it) gets the client back, without a second start', async () => {
    const h = await harness();
    const { cookie, id } = await h.sleeping('alice');
    await h.service.start('alice');
    setStartedAt(h, id, 1_000);
    h.runtime.calls.length = 0;
    const r = await send(h.port, { path: recoverPath(h.port, '/x'), headers: { cookie } });
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe('/x');
    expect(starts(h.runtime)).toBe(0);
  });

  it('no or forged cookie, prefetch, or an exhausted loop guard: app-error page, no engine call', async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const cases: Record<string, string>[] = [
      {},
      { cookie: 'instance=alice.0000000000000000000000000000000000' },
      { cookie, 'sec-purpose': 'prefetch' },
      { cookie: `${cookie}; spawner_wake_round=alice%3A${h.cfg.loopGuardRounds + 1}` },
    ];
    for (const headers of cases) {
      const r = await send(h.port, { path: recoverPath(h.port, '/p'), headers });
      expect(r.status).toBe(307);
      expect(r.headers.location).toBe('/.spawner/app-error?status=502&to=%2Fp');
    }
    expect(h.runtime.mutations()).toEqual([]);
  });

  it('a url on another host, of another scheme, or missing is refused with 400 invalid_field', async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const bad = ['http://evil.example/x', 'javascript:alert(1)', 'http://user:pw@127.0.0.1/x', 'not a url', ''];
    for (const url of bad) {
      const r = await send(h.port, { path: `/.spawner/recover?url=${encodeURIComponent(url)}`, headers: { cookie } });
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ code: 'invalid_field', field: 'url' });
      expect(r.headers.location).toBeUndefined();
    }
    expect(h.runtime.mutations()).toEqual([]);
  });

  it('the redirect back is always a same-origin path', async () => {
    const h = await harness();
    const { cookie } = await h.sleeping('alice');
    const r = await send(h.port, { path: recoverPath(h.port, '//evil.example/x'), headers: { cookie } });
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe('/evil.example/x');
  });

  it('the app-error page answers the status it names (502 or 504 only) and escapes its retry link', async () => {
    const h = await harness();
    const api = await send(h.port, { path: '/.spawner/app-error?status=504&to=%2Fx' });
    expect(api.status).toBe(504);
    expect(JSON.parse(api.body)).toMatchObject({ code: 'app_gateway_timeout', status: 504 });
    const other = await send(h.port, { path: '/.spawner/app-error?status=200' });
    expect(other.status).toBe(502);
    expect(JSON.parse(other.body)).toMatchObject({ code: 'app_bad_gateway' });
    const page = await send(h.port, { path: `/.spawner/app-error?status=502&to=${encodeURIComponent('//evil.example/"><script>')}`, headers: { accept: BROWSER } });
    expect(page.status).toBe(502);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('href="/evil.example/&quot;&gt;&lt;script&gt;"');
    expect(page.body).not.toContain('<script>');
    expect(h.runtime.calls).toEqual([]);
  });
});
