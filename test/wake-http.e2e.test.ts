/**
 * The wake listener as a plain HTTP client sees it, on real Docker and real Traefik: a cold wake
 * keeps method, path, query and body; a crowd of requests starts the container exactly once
 * (counted from the Docker engine's own event log); refusals start nothing and all look alike;
 * cookie values never cross between similarly named instances; HEAD and prefetches never wake.
 * Parameterised by runtime (helpers/runtime-view.ts): CI's one-node swarm part runs it with
 * E2E_RUNTIME=swarm (a start there is a new task: helpers/wake-swarm.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from './helpers/stack.js';
import { startRuntimeStack, teardownRuntimeStack } from './helpers/runtime-view.js';
import {
  deployMock, followWake, fromListener, isRunning, problemOf, send, watchStarts, stopAllWatches, stopInstance, waitReachable,
  type Answer, type Deployed,
} from './helpers/wake.js';

let stack: Stack;
let token: string;
const inst: Record<string, Deployed> = {};

beforeAll(async () => {
  ({ stack, token } = await startRuntimeStack());
  const names = ['post-1', 'crowd', 'sleepy-a', 'sleepy-b', 'minion-1', 'minion-10'];
  for (const d of await Promise.all(names.map((n) => deployMock(stack, token, n)))) inst[d.name] = d;
  await Promise.all(['post-1', 'crowd', 'sleepy-a', 'sleepy-b'].map((n) => stopInstance(stack, token, inst[n]!)));
});

afterAll(async () => {
  stopAllWatches();
  await teardownRuntimeStack(stack, 'wake-http');
});

const secretOf = (d: Deployed) => d.value.slice(d.name.length + 1);
const hex32 = () => randomBytes(16).toString('hex');
type AppEcho = { hostname: string; path: string; method: string; body?: string };

/** Status, type and body of a refusal, i.e. everything a prober could compare. */
function refusalShape(a: Answer) {
  return {
    status: a.status,
    type: a.headers['content-type'],
    length: a.headers['content-length'],
    auth: a.headers['www-authenticate'],
    setCookie: a.headers['set-cookie'],
    location: a.headers.location,
    body: a.body,
  };
}

describe('wake listener over plain HTTP (real Docker + Traefik)', () => {
  it('cold-wakes a POST and keeps method, path, query and body across the 307', async () => {
    const d = inst['post-1']!;
    const w = await watchStarts([d.id]);
    const body = JSON.stringify({ hello: 'wörld', n: [1, 2, 3], nested: { ok: true } });
    const req = { method: 'POST', headers: { cookie: d.cookie, 'content-type': 'application/json' }, body };

    const first = await send(`${stack.web}/a/b?c=1`, req);
    expect(fromListener(first), first.body).toBe(true);
    expect(first.status).toBe(307);
    expect(first.headers.location).toBe('/a/b?c=1');
    expect(String(first.headers['server-timing'])).toMatch(/^start;dur=\d+, health;dur=\d+, route;dur=\d+, probe;dur=\d+, total;dur=\d+$/);

    // A curl-style client re-sends the same request to the Location (307 keeps method and body).
    const again = await send(`${stack.web}${String(first.headers.location)}`, req);
    expect(again.status).toBe(200);
    expect(fromListener(again)).toBe(false);
    const echo = JSON.parse(again.body) as AppEcho;
    expect(echo).toMatchObject({ hostname: d.hostname, path: '/a/b?c=1', method: 'POST', body });

    expect(w.stop()).toHaveLength(1);
  });

  it('starts the container exactly once for 100 concurrent requests, and every one ends at the app', async () => {
    const d = inst.crowd!;
    expect(await isRunning(d.id)).toBe(false);
    const w = await watchStarts([d.id]);
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const path = `/crowd/${i}?q=${i}`;
      const r = await followWake(stack.web, path, { headers: { cookie: d.cookie } });
      return { i, path, ...r, ms: Date.now() - t0 };
    }));
    const elapsed = Date.now() - t0;

    for (const r of results) {
      expect(r.final.status, `request ${r.i}: ${r.final.body.slice(0, 200)}`).toBe(200);
      expect(fromListener(r.final)).toBe(false);
      const echo = JSON.parse(r.final.body) as AppEcho;
      expect(echo.hostname).toBe(d.hostname);
      expect(echo.path).toBe(r.path);
      for (const h of r.hops) {
        expect(fromListener(h)).toBe(true);
        expect(h.headers.location).toBe(r.path);
      }
      expect(r.hops.length).toBeLessThanOrEqual(1);
    }
    const viaListener = results.filter((r) => r.hops.length > 0).length;
    // All 100 left before the container could possibly be up: nearly all must have been held.
    expect(viaListener).toBeGreaterThanOrEqual(90);

    const starts = w.stop();
    expect(starts.map((s) => s.id)).toEqual([d.id]);
    console.log(`[wake-http] 100 concurrent: ${viaListener} via listener, 1 start, all at app after ${elapsed} ms (slowest ${Math.max(...results.map((r) => r.ms))} ms)`);
  });

  it('refuses forged, unknown and cross-instance values identically and starts nothing', async () => {
    const a = inst['sleepy-a']!;
    const b = inst['sleepy-b']!;
    const w = await watchStarts([a.id, b.id]);
    const values: Record<string, string | undefined> = {
      'forged secret': `${a.name}.${hex32()}`,
      'unknown name': `nosuch-x.${hex32()}`,
      'another instance\'s secret': `${a.name}.${secretOf(b)}`,
      'swapped the other way': `${b.name}.${secretOf(a)}`,
      'bare name': a.name,
      'suffixed value': `${a.value}0`,
      'upper-case secret': `${a.name}.${secretOf(a).toUpperCase()}`,
      'no cookie': undefined,
    };
    const shapes: Record<string, ReturnType<typeof refusalShape>> = {};
    const browserShapes: Record<string, ReturnType<typeof refusalShape>> = {};
    for (const [why, v] of Object.entries(values)) {
      const cookie: Record<string, string> = v === undefined ? {} : { cookie: `instance=${v}` };
      const r = await send(`${stack.web}/x?y=1`, { headers: cookie });
      expect(fromListener(r), why).toBe(true);
      shapes[why] = refusalShape(r);
      const br = await send(`${stack.web}/x?y=1`, { headers: { ...cookie, accept: 'text/html' } });
      browserShapes[why] = refusalShape(br);
    }
    // The valid value under another cookie name does not open anything either.
    const wrongName = await send(`${stack.web}/x?y=1`, { headers: { cookie: `xinstance=${a.value}` } });
    shapes['value under another cookie name'] = refusalShape(wrongName);

    const first = Object.values(shapes)[0]!;
    expect(first.status).toBe(401);
    expect(problemOf({ headers: { 'content-type': first.type }, body: first.body })).toMatchObject({ code: 'unauthorized' });
    for (const [why, s] of Object.entries(shapes)) expect(s, why).toEqual(first);
    const firstBrowser = Object.values(browserShapes)[0]!;
    expect(firstBrowser.status).toBe(302);
    expect(firstBrowser.location).toBe('/home');
    for (const [why, s] of Object.entries(browserShapes)) expect(s, why).toEqual(firstBrowser);

    expect(w.stop()).toEqual([]);
    expect(await isRunning(a.id)).toBe(false);
    expect(await isRunning(b.id)).toBe(false);
  });

  it('never lets minion-1 reach minion-10 or the other way round', async () => {
    const m1 = inst['minion-1']!;
    const m10 = inst['minion-10']!;
    await Promise.all([waitReachable(stack, m1), waitReachable(stack, m10)]);
    const refusal = refusalShape(await send(`${stack.web}/probe`, { headers: { cookie: `instance=nosuch-x.${hex32()}` } }));
    const w = await watchStarts([m1.id, m10.id]);
    for (let round = 0; round < 3; round++) {
      for (const [d, other] of [[m1, m10], [m10, m1]] as const) {
        const r = await send(`${stack.web}/probe`, { headers: { cookie: d.cookie } });
        expect(r.status).toBe(200);
        expect((JSON.parse(r.body) as AppEcho).hostname).toBe(d.hostname);
        expect((JSON.parse(r.body) as AppEcho).hostname).not.toBe(other.hostname);
      }
    }
    const crossed: Record<string, string> = {
      'minion-1 with minion-10 secret': `${m1.name}.${secretOf(m10)}`,
      'minion-10 with minion-1 secret': `${m10.name}.${secretOf(m1)}`,
      'minion-1 value + "0"': `${m1.value}0`,
      'minion-1 value + "x"': `${m1.value}x`,
      'minion-10 value truncated': m10.value.slice(0, -1),
      'minion-1 name with a 0 glued to the secret': `${m1.name}0.${secretOf(m1)}`,
      'bare minion-1': m1.name,
      'bare minion-10': m10.name,
    };
    for (const [why, v] of Object.entries(crossed)) {
      const r = await send(`${stack.web}/probe`, { headers: { cookie: `instance=${v}` } });
      expect(fromListener(r), `${why}: ${r.body.slice(0, 120)}`).toBe(true);
      expect(refusalShape(r), why).toEqual(refusal);
    }
    // The cookie among others, with cookie-header whitespace, still routes exactly.
    const mixed = await send(`${stack.web}/probe`, { headers: { cookie: `a=1;   instance=${m1.value};b=2` } });
    expect((JSON.parse(mixed.body) as AppEcho).hostname).toBe(m1.hostname);
    expect(w.stop()).toEqual([]);
  });

  it('never wakes for HEAD or prefetch requests', async () => {
    const a = inst['sleepy-a']!;
    const w = await watchStarts([a.id]);
    const cases: Array<[string, { method?: string; headers: Record<string, string> }]> = [
      ['HEAD', { method: 'HEAD', headers: { cookie: a.cookie } }],
      ['HEAD as a browser', { method: 'HEAD', headers: { cookie: a.cookie, accept: 'text/html' } }],
      ['Sec-Purpose: prefetch', { headers: { cookie: a.cookie, 'sec-purpose': 'prefetch' } }],
      ['Sec-Purpose: prefetch;prerender (browser)', { headers: { cookie: a.cookie, 'sec-purpose': 'prefetch;prerender', accept: 'text/html' } }],
      ['Purpose: prefetch', { headers: { cookie: a.cookie, purpose: 'prefetch' } }],
    ];
    for (const [why, opts] of cases) {
      const r = await send(`${stack.web}/page?x=1`, opts);
      expect(fromListener(r), why).toBe(true);
      expect(r.status, why).toBe(503);
      expect(r.headers['retry-after'], why).toBeDefined();
    }
    expect(w.stop()).toEqual([]);
    expect(await isRunning(a.id)).toBe(false);

    // Control: the same cookie with a plain GET does wake it, so the refusals above were real.
    const w1 = await watchStarts([a.id]);
    const { final, hops } = await followWake(stack.web, '/page?x=1', { headers: { cookie: a.cookie } });
    expect(hops).toHaveLength(1);
    expect((JSON.parse(final.body) as AppEcho).hostname).toBe(a.hostname);
    expect(w1.stop()).toHaveLength(1);
  });
});
