/**
 * Wakes that cannot succeed, on real Docker and real Traefik, with a short wake deadline (8 s):
 * an app whose Docker HEALTHCHECK never passes, and Traefik going away in the middle of a wake.
 * Each must end in a clear problem+json error, leave no running container behind (a wake that
 * started a container stops it again), and not poison the next attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, login, spawnerLogs, startStack, type Stack } from './helpers/stack.js';
import { pollUntil } from './helpers/poll.js';
import {
  deployMock, followWake, fromListener, isRunning, problemOf, send, watchStarts, stopAllWatches, stopInstance,
  type Deployed,
} from './helpers/wake.js';

const DEADLINE_SEC = 8;
let stack: Stack;
let token: string;
let sick: Deployed;
let slow: Deployed;
let fast: Deployed;

beforeAll(async () => {
  stack = await startStack({ env: { SPAWNER_WAKE_DEADLINE_SEC: String(DEADLINE_SEC) } });
  token = await login(stack);
  [sick, slow, fast] = await Promise.all([
    // /status answers after 5 s; the image's health check gives up after 1.5 s: never healthy.
    deployMock(stack, token, 'sick', { STATUS_DELAY: '5s' }),
    // Healthy only at the second health check (~4 s after start): a wake we can interrupt.
    deployMock(stack, token, 'slow', { STARTUP_DELAY: '3s' }),
    // Healthy at the first health check (~2 s): well inside the 8 s deadline even on a busy machine.
    deployMock(stack, token, 'fast'),
  ]);
  await Promise.all([sick, slow, fast].map((d) => stopInstance(stack, token, d)));
});

afterAll(async () => {
  stopAllWatches();
  if (stack) {
    if (process.env.E2E_DEBUG) console.log(await spawnerLogs(stack));
    await stack.teardown();
  }
});

async function spawnerHealthy(): Promise<void> {
  expect((await send(`${stack.api}/healthz`, { timeoutMs: 5_000 })).status).toBe(200);
  expect((await send(`${stack.wake}/.spawner/healthz`, { timeoutMs: 5_000 })).status).toBe(200);
}

/** Reads a wake-stream until the server ends it; returns its named events. */
async function streamEvents(base: string, cookie: string): Promise<string[]> {
  const r = await send(`${base}/.spawner/wake-stream`, { headers: { cookie, accept: 'text/event-stream' } });
  expect(r.headers['content-type']).toContain('text/event-stream');
  return r.body.split('\n').filter((l) => l.startsWith('event: ') || l.startsWith('data: '));
}

describe('failed wakes (real Docker + Traefik)', () => {
  it('answers 503 wake_timeout for an app that never gets healthy, stops it, and retries afresh next time', async () => {
    const w = await watchStarts([sick.id]);
    const t0 = Date.now();
    const r1 = await send(`${stack.web}/x?y=1`, { headers: { cookie: sick.cookie } });
    const took = Date.now() - t0;
    expect(fromListener(r1), r1.body).toBe(true);
    expect(r1.status).toBe(503);
    expect(r1.headers['retry-after']).toMatch(/^\d+$/);
    expect(problemOf(r1)).toMatchObject({ code: 'wake_timeout', status: 503 });
    // The deadline names the step it was stuck on.
    expect(String(problemOf(r1).detail)).toContain('waiting for the app to answer its health check');
    expect(took).toBeGreaterThanOrEqual(DEADLINE_SEC * 1000 - 500);
    expect(took).toBeLessThan(DEADLINE_SEC * 1000 + 10_000);
    // The answer is sent after the stop: no running container is left behind.
    expect(await isRunning(sick.id)).toBe(false);
    expect(w.stop()).toHaveLength(1);

    // The failure was consumed by its own waiters: the next request is a new attempt (a second
    // start), and a waiting page's event stream joining that attempt hears the same failure.
    const w1 = await watchStarts([sick.id]);
    const [r2, events] = await Promise.all([
      send(`${stack.web}/x?y=2`, { headers: { cookie: sick.cookie } }),
      pollUntil('second attempt started', async () => ((await isRunning(sick.id)) ? true : undefined), { timeoutMs: 5_000, intervalMs: 20 })
        .then(() => streamEvents(stack.web, sick.cookie)),
    ]);
    expect(r2.status).toBe(503);
    expect(problemOf(r2)).toMatchObject({ code: 'wake_timeout' });
    expect(events[0]).toBe('event: failed');
    expect(events[1]).toMatch(/^data: .*did not become ready/);
    expect(await isRunning(sick.id)).toBe(false);
    expect(w1.stop()).toHaveLength(1);
    await spawnerHealthy();
  });

  it('fails clearly when Traefik goes away mid-wake, leaves no zombie, and wakes again once Traefik is back', async () => {
    const w = await watchStarts([slow.id]);
    const t0 = Date.now();
    // Straight at the listener's published port: Traefik is about to disappear.
    const pending = send(`${stack.wake}/t?x=1`, { headers: { cookie: slow.cookie } });
    // inspect, not the event log: it answers at once, and Traefik must go while the wake waits.
    await pollUntil('wake started the container', async () => ((await isRunning(slow.id)) ? true : undefined), { timeoutMs: 5_000, intervalMs: 20 });
    // docker stop -t 0: Traefik's graceful shutdown would otherwise take up to the whole timeout,
    // and it must be gone while the wake still waits for the app's health (~4 s after start).
    await stack.stopTraefik(0);
    const stoppedAt = Date.now() - t0;
    const healthAtStop = (await docker.getContainer(slow.id).inspect()).State.Health?.Status;
    const r = await pending;
    const took = Date.now() - t0;
    expect(fromListener(r)).toBe(true);
    expect(r.status).toBeGreaterThanOrEqual(500);
    const p = problemOf(r);
    expect(['wake_timeout', 'wake_failed']).toContain(p.code);
    // Stuck on Traefik: the answer says so (the app itself was fine or still starting).
    if (p.code === 'wake_timeout') expect(String(p.detail)).toMatch(/waiting for (Traefik to route|the app to answer)/);
    expect(r.headers['retry-after']).toMatch(/^\d+$/);
    // The wake started the container, so the failed wake stopped it again.
    expect(await isRunning(slow.id)).toBe(false);
    expect(w.stop()).toHaveLength(1);
    await spawnerHealthy();
    console.log(`[wake-failure] traefik stopped ${stoppedAt} ms into the wake (app health then: ${healthAtStop}); answer ${r.status} ${String(p.code)} after ${took} ms`);

    await stack.startTraefik();
    const w1 = await watchStarts([fast.id, slow.id]);
    const t1 = Date.now();
    // Until Traefik's Docker provider has loaded the catch-all, it answers 404 itself; a HEAD
    // tells when requests reach the listener again, without waking anything.
    await pollUntil('restarted Traefik routes to the wake listener', async () => {
      const h = await send(`${stack.web}/`, { method: 'HEAD', headers: { cookie: fast.cookie }, timeoutMs: 10_000 });
      return fromListener(h) ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    const woke = await followWake(stack.web, '/back?again=1', { headers: { cookie: fast.cookie } });
    expect(woke.final.status, woke.final.body).toBe(200);
    expect(woke.hops).toHaveLength(1);
    expect(woke.hops[0]!.headers.location).toBe('/back?again=1');
    expect(JSON.parse(woke.final.body)).toMatchObject({ hostname: fast.hostname, path: '/back?again=1' });
    // Exactly one start: `fast` by this wake; `slow` stayed down after its failed wake.
    expect(w1.stop().map((e) => e.id)).toEqual([fast.id]);
    expect(await isRunning(slow.id)).toBe(false);
    console.log(`[wake-failure] wake through the restarted Traefik took ${Date.now() - t1} ms`);
  });
});
