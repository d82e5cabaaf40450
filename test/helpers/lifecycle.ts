/**
 * Helpers of the idle-stop and resilience e2e tests: deploy a mock app, talk to it through
 * Traefik (or straight to the wake listener) following the listener's 307s, read an instance's
 * status and lifecycle events, and wait for a line in the spawner's log.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { request } from 'undici';
import { api, type Stack } from './stack.js';
import { IMAGES } from './docker-env.js';
import { pollUntil } from './poll.js';

export interface Instance {
  name: string;
  id: string;
  hostname: string;
  cookie: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface LifecycleEvent {
  at: number;
  kind: string;
  reason: string | null;
  detail: Record<string, unknown> | null;
}

export async function deploy(stack: Stack, token: string, name: string, extra: Record<string, unknown> = {}): Promise<Instance> {
  const r = await api(stack, token, 'POST', '/deploy', { name, image: IMAGES.mockApp, envs: { IDLE: '0' }, ...extra });
  if (r.status !== 200) throw new Error(`deploy ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  const id = String(r.body.id);
  return { name, id, hostname: name, cookie: `instance=${String(r.body.cookie.value)}` };
}

export async function send(
  url: string, headers: Record<string, string> = {}, timeoutMs = 60_000, req: { method?: 'GET' | 'POST'; body?: string } = {},
): Promise<Answer> {
  const res = await request(url, { method: req.method ?? 'GET', body: req.body, headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

export const fromListener = (a: Answer): boolean => a.headers['x-spawner-wake'] !== undefined;
export const fromApp = (a: Answer, inst: Instance): boolean =>
  a.status === 200 && !fromListener(a) && (JSON.parse(a.body) as { hostname?: string }).hostname === inst.hostname;

/**
 * GET (or POST `body`) `path` with the instance's cookie, first at `first` (Traefik, or the wake
 * listener directly), then following every 307 through Traefik, as a client would.
 */
export async function followToApp(
  stack: Stack, inst: Instance, path = '/', opts: { first?: string; maxHops?: number; method?: 'GET' | 'POST'; body?: string } = {},
): Promise<{ final: Answer; hops: number; ms: number }> {
  const t0 = Date.now();
  let base = opts.first ?? stack.web;
  let p = path;
  for (let hops = 0; hops <= (opts.maxHops ?? 6); hops++) {
    // A 307 means: the same method and body again, as browsers and curl -L do.
    const a = await send(`${base}${p}`, { cookie: inst.cookie }, 60_000, { method: opts.method, body: opts.body });
    if (a.status !== 307) return { final: a, hops, ms: Date.now() - t0 };
    p = String(a.headers.location);
    base = stack.web;
  }
  throw new Error(`${inst.name}: more than ${opts.maxHops ?? 6} redirects for ${path}`);
}

/** `path`: where the instance answers (path mode: `/<prefix>/<name>/`). */
export async function waitReachable(stack: Stack, inst: Instance, timeoutMs = 30_000, path = '/'): Promise<void> {
  await pollUntil(`${inst.name} reachable through traefik`, async () => {
    const r = await send(`${stack.web}${path}`, { cookie: inst.cookie }, 5_000);
    return fromApp(r, inst) ? true : undefined;
  }, { timeoutMs });
}

export async function statusOf(stack: Stack, token: string, name: string): Promise<string> {
  const r = await api(stack, token, 'GET', `/deploy/${name}`);
  return r.status === 200 ? String(r.body.status) : `http-${r.status}`;
}

export async function eventsOf(stack: Stack, token: string, name: string): Promise<LifecycleEvent[]> {
  const r = await api(stack, token, 'GET', `/deploy/${name}/events`);
  if (r.status !== 200) throw new Error(`events of ${name}: ${r.status}`);
  return (r.body.events as LifecycleEvent[]).slice().sort((a, b) => a.at - b.at);
}

/** Log text of the spawner container since `sinceMs` (stdout and stderr, frames demultiplexed). */
export async function spawnerLogSince(stack: Stack, sinceMs: number): Promise<string> {
  const buf = (await stack.spawner.logs({ stdout: true, stderr: true, since: Math.floor(sinceMs / 1000) })) as unknown as Buffer;
  // Without a TTY the engine frames every chunk: 1 byte stream, 3 zero bytes, 4 bytes length.
  const parts: Buffer[] = [];
  for (let i = 0; i + 8 <= buf.length;) {
    const len = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Waits for a JSON log line of the spawner whose msg and fields match. */
export async function waitLogLine(
  stack: Stack, sinceMs: number, msg: string, fields: Record<string, unknown> = {}, opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<Record<string, unknown>> {
  return pollUntil(`spawner log "${msg}" ${JSON.stringify(fields)}`, async () => {
    for (const line of (await spawnerLogSince(stack, sinceMs)).split('\n')) {
      const json = line.trim();
      if (!json.startsWith('{') || !json.includes(msg)) continue;
      let rec: Record<string, unknown>;
      try { rec = JSON.parse(json) as Record<string, unknown>; } catch { continue; }
      if (Date.parse(String(rec.time)) < sinceMs) continue;
      if (rec.msg === msg && Object.entries(fields).every(([k, v]) => rec[k] === v)) return rec;
    }
    return undefined;
  }, { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: opts.intervalMs ?? 100 });
}

/** Paces a loop (a load generator's cadence, not a wait for a condition). */
export const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** A WebSocket handshake through `url` (Traefik); resolves with the open socket after the 101. */
export function openWebSocket(url: string, cookie: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      headers: {
        cookie, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
      },
    });
    req.on('upgrade', (res, socket) => (res.statusCode === 101 ? resolve(socket) : reject(new Error(`upgrade: ${res.statusCode}`))));
    req.on('response', (res) => { res.resume(); reject(new Error(`no upgrade: ${res.statusCode}`)); });
    req.on('error', reject);
    req.end();
  });
}
