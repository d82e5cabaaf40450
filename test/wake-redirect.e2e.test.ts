/**
 * Where the wake listener sends people, on real Docker and real Traefik: every redirect target is
 * a same-origin path, whatever the request line, Host or X-Forwarded-Host say (checked through
 * Traefik and straight at the listener, with raw request lines no client library would send);
 * and a client that keeps bouncing back for an instance that is already up gets a bounded 508.
 * Parameterised by runtime (helpers/runtime-view.ts): CI's one-node swarm part runs it with
 * E2E_RUNTIME=swarm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from './helpers/stack.js';
import { startRuntimeStack, teardownRuntimeStack } from './helpers/runtime-view.js';
import {
  deployMock, expectSafeLocation, fromListener, portOf, problemOf, rawRequest, send, watchStarts, stopAllWatches, stopInstance,
  waitReachable, type Deployed, type RawAnswer,
} from './helpers/wake.js';

const LOOP_GUARD_ROUNDS = 3; // the spawner's default loopGuardRounds
let stack: Stack;
let token: string;
let hot: Deployed;
let cold: Deployed;

beforeAll(async () => {
  ({ stack, token } = await startRuntimeStack());
  [hot, cold] = await Promise.all([deployMock(stack, token, 'hot'), deployMock(stack, token, 'cold')]);
  await stopInstance(stack, token, cold);
  await waitReachable(stack, hot);
});

afterAll(async () => {
  stopAllWatches();
  await teardownRuntimeStack(stack, 'wake-redirect');
});

interface Case { why: string; target: string; headers?: Record<string, string>; mustRedirect: boolean }

const CASES: Case[] = [
  { why: 'scheme-relative', target: '//evil.com', mustRedirect: true },
  { why: 'slash backslash', target: '/\\evil.com', mustRedirect: true },
  { why: 'encoded slashes', target: '/%2F%2Fevil.com', mustRedirect: true },
  { why: 'encoded backslash', target: '/%5Cevil.com', mustRedirect: true },
  { why: 'absolute-form', target: 'http://evil.com/x', mustRedirect: true },
  { why: 'absolute-form without path', target: 'https://evil.com', mustRedirect: true },
  { why: 'forged Host', target: '/ok?a=1', headers: { host: 'evil.com' }, mustRedirect: true },
  { why: 'forged X-Forwarded-Host', target: '/ok?a=1', headers: { 'x-forwarded-host': 'evil.com', 'x-forwarded-proto': 'https' }, mustRedirect: true },
  { why: 'rewrite headers', target: '/ok', headers: { 'x-original-url': '//evil.com', 'x-rewrite-url': '//evil.com' }, mustRedirect: true },
  { why: 'triple slash', target: '///evil.com', mustRedirect: true },
  { why: 'slash backslash slash', target: '/\\/evil.com', mustRedirect: true },
  { why: 'dot segment', target: '/.//evil.com', mustRedirect: true },
  { why: 'dot-dot segment', target: '/%2e%2e//evil.com', mustRedirect: true },
  { why: 'encoded NUL', target: '/%00//evil.com', mustRedirect: true },
  { why: 'encoded CRLF header injection', target: '/%0d%0aLocation:%20//evil.com', mustRedirect: true },
  { why: 'evil in the query', target: '/x?next=//evil.com', mustRedirect: true },
  // Not valid request targets: a proxy or Node may refuse them outright (never with a Location).
  { why: 'leading backslashes', target: '\\\\evil.com', mustRedirect: false },
  { why: 'bare authority', target: 'evil.com', mustRedirect: false },
  { why: 'asterisk-form', target: '*', mustRedirect: false },
];

const entities: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const unescapeHtml = (s: string) => s.replace(/&(amp|lt|gt|quot|#39);/g, (m) => entities[m] ?? m);

/** Every place the waiting page sends the browser: meta refresh, the script's target, the link. */
function waitingPageTargets(html: string): string[] {
  const meta = /http-equiv="refresh" content="\d+;url=([^"]*)"/.exec(html)?.[1];
  const js = /var target=("(?:[^"\\]|\\.)*");/.exec(html)?.[1];
  const link = /<a href="([^"]*)">Continue<\/a>/.exec(html)?.[1];
  expect(meta, html.slice(0, 400)).toBeDefined();
  expect(js).toBeDefined();
  expect(link).toBeDefined();
  return [unescapeHtml(meta!), JSON.parse(js!) as string, unescapeHtml(link!)];
}

function checkAnswer(c: Case, a: RawAnswer, where: string, browser: boolean): 'redirect' | 'page' | 'refused' {
  const why = `${where} ${browser ? 'browser ' : ''}${c.why} (${JSON.stringify(c.target)}): ${a.raw.slice(0, 160)}`;
  expect(a.raw.toLowerCase(), why).not.toMatch(/\r\nlocation:[ \t]*[^ \t/\r]/);
  if (browser && a.status === 200 && a.headers['x-spawner-wake']) {
    for (const t of waitingPageTargets(a.raw)) expectSafeLocation(t, `${why} → ${t}`);
    return 'page';
  }
  if (a.status === 307) {
    expect(a.headers['x-spawner-wake'], why).toBeDefined();
    expectSafeLocation(a.headers.location, `${why} → ${a.headers.location}`);
    return 'redirect';
  }
  expect(c.mustRedirect, why).toBe(false);
  expect(a.status, why).toBeGreaterThanOrEqual(400);
  expect(a.headers.location, why).toBeUndefined();
  return 'refused';
}

async function table(port: number, d: Deployed, browser: boolean) {
  return Promise.all(CASES.map(async (c) => {
    const headers = { host: 'origin.test', cookie: d.cookie, ...(browser ? { accept: 'text/html' } : {}), ...c.headers };
    return { c, a: await rawRequest(port, `GET ${c.target} HTTP/1.1`, headers) };
  }));
}

describe('redirect targets and the loop guard (real Docker + Traefik)', () => {
  it('never redirects off-site through Traefik, whatever the request line or headers say', async () => {
    // The whole table at once while `cold` is stopped: every request falls through to the
    // listener and joins one wake, so each answer is the listener's, not the app's.
    const w = await watchStarts([cold.id]);
    const [plain, pages] = await Promise.all([table(portOf(stack.web), cold, false), table(portOf(stack.web), cold, true)]);
    const tally: Record<string, number> = {};
    for (const { c, a } of plain) { const k = checkAnswer(c, a, 'traefik', false); tally[k] = (tally[k] ?? 0) + 1; }
    for (const { c, a } of pages) { const k = checkAnswer(c, a, 'traefik', true); tally[k] = (tally[k] ?? 0) + 1; }
    expect(tally.redirect).toBeGreaterThanOrEqual(CASES.filter((c) => c.mustRedirect).length);
    expect(tally.page).toBeGreaterThanOrEqual(CASES.filter((c) => c.mustRedirect).length);
    expect(w.stop()).toHaveLength(1);
    console.log(`[wake-redirect] through traefik: ${JSON.stringify(tally)}`);
  });

  it('never redirects off-site straight at the wake listener either', async () => {
    const [plain, pages] = await Promise.all([table(portOf(stack.wake), hot, false), table(portOf(stack.wake), hot, true)]);
    const tally: Record<string, number> = {};
    for (const { c, a } of plain) { const k = checkAnswer(c, a, 'listener', false); tally[k] = (tally[k] ?? 0) + 1; }
    for (const { c, a } of pages) { const k = checkAnswer(c, a, 'listener', true); tally[k] = (tally[k] ?? 0) + 1; }
    expect(tally.redirect).toBeGreaterThanOrEqual(CASES.filter((c) => c.mustRedirect).length);
    expect(tally.page).toBeGreaterThanOrEqual(CASES.filter((c) => c.mustRedirect).length);
    // The Host header never leaks into the answer.
    const forged = plain.find(({ c }) => c.why === 'forged Host')!;
    expect(forged.a.raw).not.toContain('evil.com');
    console.log(`[wake-redirect] straight at the listener: ${JSON.stringify(tally)}`);
  });

  it('answers a bounded 508 route_loop when a client keeps coming back for an instance that is up', async () => {
    // Straight at the listener: the instance is running and routed, so arriving here again and
    // again is exactly what a proxy that lags (or loops) would cause.
    const t0 = Date.now();
    let round = '';
    const statuses: number[] = [];
    let last!: Awaited<ReturnType<typeof send>>;
    for (let i = 0; i < LOOP_GUARD_ROUNDS + 5; i++) {
      const cookie = round ? `${hot.cookie}; ${round}` : hot.cookie;
      last = await send(`${stack.wake}/loop?n=1`, { headers: { cookie }, timeoutMs: 30_000 });
      statuses.push(last.status);
      if (last.status !== 307) break;
      expect(last.headers.location).toBe('/loop?n=1');
      const set = [last.headers['set-cookie'] ?? []].flat().find((s) => s.startsWith('spawner_wake_round='));
      expect(set, 'the listener counts rounds in a cookie').toBeDefined();
      round = set!.split(';')[0]!;
    }
    const took = Date.now() - t0;
    // The first arrival plus LOOP_GUARD_ROUNDS bounces are redirected; the next is refused.
    expect(statuses).toEqual([...Array(LOOP_GUARD_ROUNDS + 1).fill(307), 508]);
    expect(problemOf(last)).toMatchObject({ code: 'route_loop', status: 508 });
    expect(took).toBeLessThan(15_000);
    // Bounded: it stays refused while the round cookie lives, for API clients and browsers alike.
    const again = await send(`${stack.wake}/loop?n=1`, { headers: { cookie: `${hot.cookie}; ${round}` } });
    expect(again.status).toBe(508);
    const page = await send(`${stack.wake}/loop?n=1`, { headers: { cookie: `${hot.cookie}; ${round}`, accept: 'text/html' } });
    expect(page.status).toBe(508);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('could not be reached');
    // The round cookie is per instance: it does not block the same client's first visit elsewhere
    // (a forged round cookie for another name counts as round 0).
    const fresh = await send(`${stack.wake}/loop?n=1`, { headers: { cookie: `${hot.cookie}; spawner_wake_round=other:9` } });
    expect(fresh.status).toBe(307);
    // And through Traefik the instance is simply served: the guard is about the listener only.
    const ok = await send(`${stack.web}/loop?n=1`, { headers: { cookie: `${hot.cookie}; ${round}` } });
    expect(ok.status).toBe(200);
    expect(fromListener(ok)).toBe(false);
    console.log(`[wake-redirect] loop guard: ${statuses.join(' ')} in ${took} ms`);
  });
});
