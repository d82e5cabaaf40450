/**
 * Gateway-error recovery on real Docker + Traefik. Every instance router carries an errors
 * middleware (502/504 -> 307, to /.spawner/recover on the wake listener); the idle-stop race test
 * (idle-stop.e2e.test.ts) shows it turning a stop race into a wake. Here, deterministically:
 * - the spawner's own paths (/.spawner/…) reach the spawner on every host, above instance routers;
 * - an app that answers 502/504 itself is not woken or looped forever: a freshly started one is
 *   retried a few rounds (it may be the one a stop race just replaced), a steady one goes straight
 *   to /.spawner/app-error, which answers with that status;
 * - in path mode the middleware sees the URL before the prefix is stripped (identification works);
 * - other statuses (500, 404) pass through untouched.
 * Parameterised by runtime (helpers/runtime-view.ts): CI's one-node swarm part runs it with
 * E2E_RUNTIME=swarm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type Stack } from './helpers/stack.js';
import { startRuntimeStack, teardownRuntimeStack } from './helpers/runtime-view.js';
import { deploy, fromListener, pause, send, spawnerLogSince, waitReachable, type Answer, type Instance } from './helpers/lifecycle.js';

let stack: Stack;
let token: string;
let cookieInst: Instance;
let pathInst: Instance;
let cookieStartedAt: number;

beforeAll(async () => {
  ({ stack, token } = await startRuntimeStack());
  [cookieInst, pathInst] = await Promise.all([
    deploy(stack, token, 'rc-cookie'),
    deploy(stack, token, 'rc-path', { routing: 'path' }),
  ]);
  cookieStartedAt = Date.now();
  await Promise.all([waitReachable(stack, cookieInst), waitReachable(stack, pathInst, 30_000, `/app/${pathInst.name}/`)]);
});

afterAll(async () => {
  await teardownRuntimeStack(stack, 'recover');
});

/** GETs through Traefik following 307s like a browser: keeps the cookies the answers set. */
async function browse(inst: Instance, path: string, maxHops = 10): Promise<{ final: Answer; locations: string[] }> {
  const jar = new Map<string, string>([['instance', inst.cookie.slice('instance='.length)]]);
  const locations: string[] = [];
  let p = path;
  for (let hop = 0; hop <= maxHops; hop++) {
    const a = await send(`${stack.web}${p}`, { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') });
    const set = a.headers['set-cookie'];
    for (const c of [set ?? []].flat()) {
      const [kv] = String(c).split(';');
      const eq = kv!.indexOf('=');
      jar.set(kv!.slice(0, eq), kv!.slice(eq + 1));
    }
    if (a.status !== 307) return { final: a, locations };
    p = String(a.headers.location);
    locations.push(p);
  }
  throw new Error(`more than ${maxHops} redirects for ${path}`);
}

async function startEvents(name: string): Promise<number> {
  const r = await api(stack, token, 'GET', `/deploy/${name}/events`);
  return (r.body.events as { kind: string }[]).filter((e) => e.kind === 'wake' || e.kind === 'started' || e.kind === 'stopped').length;
}

describe('gateway-error recovery', () => {
  it("the spawner's own paths reach the spawner on every host, even with a running instance's cookie", async () => {
    const a = await send(`${stack.web}/.spawner/healthz`, { cookie: cookieInst.cookie });
    expect(a.status).toBe(200);
    expect(fromListener(a)).toBe(true);
    expect(JSON.parse(a.body)).toEqual({ status: 'ok' });
    // A recovery URL for another host is refused (it is reachable by anyone: nothing is trusted).
    const bad = await send(`${stack.web}/.spawner/recover?url=${encodeURIComponent('http://evil.example/x')}`, { cookie: cookieInst.cookie });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ code: 'invalid_field', field: 'url' });
  });

  it('path mode, freshly started app answering 502 itself: a few retry rounds, then the app-error page with 502; never restarted', async () => {
    const before = await startEvents(pathInst.name);
    const t0 = Date.now();
    const path = `/app/${pathInst.name}/fail/502?q=1`;
    const { final, locations } = await browse(pathInst, path);
    console.log(`[recover] path mode 502: ${locations.join(' -> ')} -> ${final.status}`);
    expect(final.status).toBe(502);
    expect(fromListener(final)).toBe(true);
    expect(JSON.parse(final.body)).toMatchObject({ code: 'app_bad_gateway', status: 502 });
    // Retried (the URL it asked for, unstripped, so the listener knew the instance) and then let go.
    const retries = locations.filter((l) => l === path).length;
    expect(retries).toBeGreaterThanOrEqual(1);
    expect(locations.at(-1)).toBe(`/.spawner/app-error?status=502&to=${encodeURIComponent(path)}`);
    const log = (await spawnerLogSince(stack, t0)).split('\n').filter((l) => l.includes('"msg":"recover"') && l.includes(pathInst.name));
    expect(log.length).toBeGreaterThanOrEqual(1);
    expect(await startEvents(pathInst.name)).toBe(before + retries); // one no-op wake per retry round, no start/stop
  });

  it('cookie mode, app running steadily: its own 504 goes straight to the app-error page with 504; 500 and 404 pass through untouched', async () => {
    // "Steadily": started more than FRESH_START_MS (15 s) ago.
    await pause(cookieStartedAt + 16_000 - Date.now());
    const { final, locations } = await browse(cookieInst, '/fail/504');
    expect(locations).toEqual([`/.spawner/app-error?status=504&to=${encodeURIComponent('/fail/504')}`]);
    expect(final.status).toBe(504);
    expect(JSON.parse(final.body)).toMatchObject({ code: 'app_gateway_timeout' });
    for (const code of [500, 404]) {
      const a = await send(`${stack.web}/fail/${code}`, { cookie: cookieInst.cookie });
      expect(a.status).toBe(code);
      expect(fromListener(a)).toBe(false);
      expect(JSON.parse(a.body)).toEqual({ hostname: cookieInst.hostname, status: code });
    }
  });
});
