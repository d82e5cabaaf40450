/**
 * A curl-style API client for the wake flow: GET with the routing cookie, follow the wake
 * listener's 307 (keeping cookies it sets, like `curl -L -b -c`), honour 503 + Retry-After, and
 * stop at the first 200 that did not come from the wake listener. Every loop is bounded in hops
 * and time. Times are performance.now() milliseconds.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { request, type Dispatcher } from 'undici';
import { routerName } from '../../spawner/src/traefik/names.js';

export const WAKE_HEADER = 'x-spawner-wake';

export type Phases = Partial<Record<'start' | 'health' | 'route' | 'probe' | 'total', number>>;

export interface WakeResult {
  ok: boolean;
  /** First request to the app's 200 (or to the failure). */
  ms: number;
  /** Status of the very first answer (307, 503, 200 …). */
  firstStatus: number;
  /** 503 + Retry-After answers that were honoured. */
  retries503: number;
  hops: number;
  /** Server-Timing of the (last) 307. */
  phases?: Phases;
  error?: string;
  /** Hostname the app reported (the instance name). */
  appHost?: string;
}

export function parseServerTiming(h: string | string[] | undefined): Phases | undefined {
  const raw = Array.isArray(h) ? h.join(',') : h;
  if (!raw) return undefined;
  const out: Phases = {};
  for (const part of raw.split(',')) {
    const m = /^\s*([a-z]+)\s*;\s*dur=([0-9.]+)/i.exec(part);
    if (m && ['start', 'health', 'route', 'probe', 'total'].includes(m[1] as string)) {
      out[m[1] as keyof Phases] = Number(m[2]);
    }
  }
  return out;
}

function mergeSetCookie(jar: Map<string, string>, h: string | string[] | undefined): void {
  for (const line of [h ?? []].flat()) {
    const pair = line.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WakeClientOptions {
  dispatcher?: Dispatcher;
  maxHops?: number;
  deadlineMs?: number;
}

export async function wakeClient(url: string, cookie: string, opts: WakeClientOptions = {}): Promise<WakeResult> {
  const t0 = performance.now();
  const deadline = t0 + (opts.deadlineMs ?? 90_000);
  const jar = new Map<string, string>();
  for (const c of cookie.split(";")) mergeSetCookie(jar, c);
  let target = new URL(url);
  let firstStatus = 0;
  let retries503 = 0;
  let phases: Phases | undefined;
  const maxHops = opts.maxHops ?? 20;
  const fail = (hops: number, error: string): WakeResult => ({
    ok: false, ms: performance.now() - t0, firstStatus, retries503, hops, phases, error,
  });
  for (let hop = 1; hop <= maxHops; hop++) {
    const left = deadline - performance.now();
    if (left <= 0) return fail(hop, 'deadline');
    let status: number;
    let headers: Record<string, string | string[] | undefined>;
    let body: string;
    try {
      const res = await request(target, {
        method: 'GET',
        headers: { accept: '*/*', cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
        dispatcher: opts.dispatcher,
        headersTimeout: left,
        bodyTimeout: left,
      });
      status = res.statusCode;
      headers = res.headers;
      body = await res.body.text();
    } catch (err) {
      return fail(hop, `request: ${(err as Error).message}`);
    }
    if (hop === 1) firstStatus = status;
    const fromWake = headers[WAKE_HEADER] !== undefined;
    mergeSetCookie(jar, headers['set-cookie']);
    if (status === 200 && !fromWake) {
      let appHost: string | undefined;
      try { appHost = (JSON.parse(body) as { hostname?: string }).hostname; } catch { /* not JSON */ }
      return { ok: true, ms: performance.now() - t0, firstStatus, retries503, hops: hop, phases, appHost };
    }
    if (status === 307 && fromWake && typeof headers.location === 'string') {
      phases = parseServerTiming(headers['server-timing']) ?? phases;
      target = new URL(headers.location, target);
      continue;
    }
    const ra = Number(headers['retry-after']);
    if (status === 503 && Number.isFinite(ra) && ra >= 0) {
      retries503++;
      await sleep(Math.min(ra * 1000, Math.max(0, deadline - performance.now())));
      continue;
    }
    return fail(hop, `HTTP ${status}${fromWake ? ' (wake listener)' : ''}: ${body.slice(0, 120)}`);
  }
  return fail(maxHops, 'too many hops');
}

/** One plain HTTP GET on a fresh connection; resolves to the status (0 on any error). */
export function httpStatus(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Probes `url` every `everyMs` until a 200; returns performance.now() of that answer. */
export async function firstOk(url: string, { everyMs = 5, deadlineMs = 30_000 } = {}): Promise<number> {
  const end = performance.now() + deadlineMs;
  while (performance.now() < end) {
    if ((await httpStatus(url, 1_000)) === 200) return performance.now();
    await sleep(everyMs);
  }
  throw new Error(`no 200 from ${url} within ${deadlineMs} ms`);
}

/**
 * Traefik's view of an instance's route, read from its API (the spawner's gate step 2 asks the
 * same): whether its router is enabled, and its service's server URLs. `provider`: `@docker` or `@swarm`.
 */
export async function traefikRoute(traefikApi: string, name: string, provider: 'docker' | 'swarm'): Promise<{ enabled: boolean; servers: string[] }> {
  const base = `${traefikApi}/api/http`;
  const id = `${routerName(name)}@${provider}`;
  const [r, s] = await Promise.all([
    fetch(`${base}/routers/${id}`, { signal: AbortSignal.timeout(1_000) }),
    fetch(`${base}/services/${id}`, { signal: AbortSignal.timeout(1_000) }),
  ]);
  const router = r.ok ? ((await r.json()) as { status?: string }) : (await r.body?.cancel(), undefined);
  const svc = s.ok ? ((await s.json()) as { loadBalancer?: { servers?: Array<{ url?: string }> } }) : (await s.body?.cancel(), undefined);
  return { enabled: router?.status === 'enabled', servers: (svc?.loadBalancer?.servers ?? []).map((x) => String(x.url)) };
}
