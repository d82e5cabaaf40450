/**
 * Helpers for the wake-listener e2e tests: deploy/stop mock-app instances, watch Docker `start`
 * events (the ground truth for "did anything start?"; on Swarm, new tasks: wake-swarm.ts), follow the listener's 307 by hand, and
 * send raw HTTP request lines that no client library would produce.
 */
import net from 'node:net';
import { request } from 'undici';
import { expect } from 'vitest';
import { api, docker, type Stack } from './stack.js';
import { IMAGES } from './docker-env.js';
import { pollUntil } from './poll.js';
import { isRunning, RUNTIME } from './runtime-view.js';
import { watchTaskStarts } from './wake-swarm.js';

export interface Deployed {
  name: string;
  id: string;
  /** Hostname the mock app reports: the instance name (the spawner sets `Hostname: name`). */
  hostname: string;
  /** The cookie value `<name>.<secret>`. */
  value: string;
  /** `instance=<value>`, ready for a Cookie header. */
  cookie: string;
}

export async function deployMock(
  stack: Stack, token: string, name: string, envs: Record<string, string> = {}, extra: Record<string, unknown> = {},
): Promise<Deployed> {
  const dep = await api(stack, token, 'POST', '/deploy', { name, image: IMAGES.mockApp, envs: { IDLE: '0', ...envs }, ...extra });
  if (dep.status !== 200) throw new Error(`deploy ${name}: ${dep.status} ${JSON.stringify(dep.body)}`);
  const id = String(dep.body.id);
  const value = String(dep.body.cookie.value);
  return { name, id, hostname: name, value, cookie: `instance=${value}` };
}

/**
 * Stops an instance through the API, then waits until a request with its cookie really falls
 * through to the wake listener. The API's stop already waits for Traefik to drop the router, but
 * only up to 5 s; on a loaded engine Traefik's Docker provider has been seen to take 6-15 s, and
 * meanwhile Traefik still dials the dead address (504 after its 2 s dial timeout). The probe is a
 * HEAD, which the listener answers without waking anything.
 */
export async function stopInstance(stack: Stack, token: string, d: Deployed): Promise<void> {
  const t0 = Date.now();
  const r = await api(stack, token, 'POST', `/deploy/${d.name}/stop`);
  if (r.status !== 200 || r.body.status !== 'exited') throw new Error(`stop ${d.name}: ${r.status} ${JSON.stringify(r.body)}`);
  const stopped = Date.now();
  let lagged = 0;
  await pollUntil(`${d.name}: requests fall through to the wake listener after stop`, async () => {
    const h = await send(`${stack.web}/`, { method: 'HEAD', headers: { cookie: d.cookie }, timeoutMs: 15_000 });
    if (fromListener(h)) return true;
    lagged++;
    return undefined;
  }, { timeoutMs: 60_000 });
  if (lagged > 0) {
    console.log(`[stopInstance] ${d.name}: stop took ${stopped - t0} ms; Traefik still routed to it for another ${Date.now() - stopped} ms (${lagged} probes)`);
  }
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export async function send(
  url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<Answer> {
  const t = opts.timeoutMs ?? 90_000;
  const res = await request(url, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers,
    body: opts.body,
    headersTimeout: t,
    bodyTimeout: t,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

export const fromListener = (a: Answer): boolean => a.headers['x-spawner-wake'] !== undefined;

/** Waits until the instance answers through Traefik with its cookie (its router is live). */
export async function waitReachable(stack: Stack, d: Deployed, timeoutMs = 60_000): Promise<void> {
  await pollUntil(`${d.name} reachable through traefik`, async () => {
    const r = await send(`${stack.web}/`, { headers: { cookie: d.cookie }, timeoutMs: 15_000 });
    return r.status === 200 && !fromListener(r) && JSON.parse(r.body).hostname === d.hostname ? true : undefined;
  }, { timeoutMs });
}

export interface StartEvent { id: string; time: number }

export interface StartWatch {
  /** Start events seen so far (live). */
  readonly events: StartEvent[];
  /** Ends the subscription and returns every start event seen while it was open. */
  stop(): StartEvent[];
}

const openWatches = new Set<{ destroy(): void }>();

/** For afterAll: ends subscriptions a failed test left open. */
export function stopAllWatches(): void {
  for (const s of openWatches) s.destroy();
  openWatches.clear();
}

/**
 * Subscribes to Docker `start` events of these containers, live, from now on. A `since`/`until`
 * query of the engine's event log is not enough: the engine keeps only its last 256 events in
 * memory (moby daemon/events: eventsLimit = 256), and health checks alone (exec_create,
 * exec_start, exec_die, health_status every 2 s per container) roll them over within seconds on a
 * busy engine: a start from 20 s ago can be gone (seen here: `[]` for a wake that had happened).
 */
export async function watchStarts(ids: string[]): Promise<StartWatch> {
  if (RUNTIME === 'swarm') {
    const w = await watchTaskStarts(ids);
    const handle = { destroy: () => { w.stop(); } };
    openWatches.add(handle);
    return { events: w.events, stop: () => { openWatches.delete(handle); return w.stop(); } };
  }
  const since = Date.now();
  const stream = await docker.getEvents({
    // `since` replays what happened between this call and the subscription taking effect.
    since: Math.floor(since / 1000),
    filters: { type: ['container'], event: ['start'], container: ids },
  } as never) as unknown as NodeJS.ReadableStream & { destroy(): void };
  const events: StartEvent[] = [];
  const seen = new Set<string>();
  let buf = '';
  stream.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      // Actor.ID: engines with API >= 1.52 (Docker 29) dropped the top-level `id`.
      const raw = JSON.parse(line) as { Actor: { ID: string }; timeNano: number };
      const e = { id: raw.Actor.ID, timeNano: raw.timeNano };
      const key = `${e.id}@${e.timeNano}`;
      const time = e.timeNano / 1e6;
      if (seen.has(key) || time < since - 50) continue; // second-granular `since`: trim precisely
      seen.add(key);
      events.push({ id: e.id, time });
    }
  });
  stream.on('error', () => undefined);
  openWatches.add(stream);
  return {
    events,
    stop: () => {
      stream.destroy();
      openWatches.delete(stream);
      return [...events];
    },
  };
}

export { isRunning };

/** The listener's answer must be the app's after following its 307s by hand (same method/body). */
export async function followWake(
  base: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string; maxHops?: number } = {},
): Promise<{ final: Answer; hops: Answer[] }> {
  const hops: Answer[] = [];
  let p = path;
  for (let i = 0; i <= (opts.maxHops ?? 5); i++) {
    const a = await send(`${base}${p}`, opts);
    if (a.status !== 307) return { final: a, hops };
    hops.push(a);
    p = String(a.headers.location);
  }
  throw new Error(`more than ${opts.maxHops ?? 5} redirects for ${path}`);
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  raw: string;
}

/** One raw HTTP/1.1 exchange on 127.0.0.1:port; the request line is sent verbatim. */
export function rawRequest(port: number, requestLine: string, headers: Record<string, string>, timeoutMs = 60_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`raw request timed out: ${requestLine}`)); }, timeoutMs);
    sock.on('connect', () => {
      const lines = [requestLine, ...Object.entries({ connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}`)];
      sock.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      const [head = ''] = raw.split('\r\n\r\n');
      const [statusLine = '', ...hl] = head.split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
      if (!m) return reject(new Error(`no HTTP answer to ${JSON.stringify(requestLine)}: ${JSON.stringify(raw.slice(0, 200))}`));
      const h: Record<string, string> = {};
      for (const line of hl) {
        const i = line.indexOf(':');
        if (i > 0) h[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(m[1]), headers: h, raw });
    });
  });
}

export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** The one rule every redirect target obeys: a same-origin path, never scheme-relative. */
export function expectSafeLocation(loc: string | undefined, why: string): void {
  expect(loc, why).toBeTypeOf('string');
  const l = String(loc);
  expect(l, why).toMatch(/^\/(?![/\\])/);
  const u = new URL(l, 'http://origin.test');
  expect(u.host, why).toBe('origin.test');
  expect(u.origin, why).toBe('http://origin.test');
}

export function problemOf(a: { headers: Record<string, unknown>; body: string }): Record<string, unknown> {
  expect(String(a.headers['content-type'])).toContain('application/problem+json');
  return JSON.parse(a.body) as Record<string, unknown>;
}
