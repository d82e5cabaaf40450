/**
 * The first vertical slice, on real Docker and real Traefik: deploy a mock-app through the deploy
 * API, reach it through Traefik with its cookie, stop it, and come back: the request falls through
 * to the wake listener, which starts the container, waits until Traefik routes to it, and
 * redirects; following the redirect reaches the same minion again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { api, login, spawnerLogs, startStack, type Stack } from './helpers/stack.js';
import { IMAGES } from './helpers/docker-env.js';
import { pollUntil } from './helpers/poll.js';

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack();
  token = await login(stack);
});

afterAll(async () => {
  if (stack) {
    if (process.env.E2E_DEBUG) console.log(await spawnerLogs(stack));
    await stack.teardown();
  }
});

async function get(url: string, cookie: string, extra: Record<string, string> = {}) {
  const res = await request(url, { method: 'GET', headers: { cookie, ...extra }, headersTimeout: 90_000 });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

describe('wake slice (real Docker + Traefik)', () => {
  it('deploys, routes by cookie, and wakes a stopped minion through the listener', async () => {
    const dep = await api(stack, token, 'POST', '/deploy', { name: 'minion-1', image: IMAGES.mockApp, envs: { IDLE: '0', CONNSTR: 'db://one' } });
    expect(dep.status).toBe(200);
    expect(dep.body.cookie.name).toBe('instance');
    expect(dep.body.cookie.value).toMatch(/^minion-1\.[a-f0-9]{32}$/);
    const cookie = `instance=${dep.body.cookie.value}`;
    const id = String(dep.body.id);

    // 1. Running: Traefik routes the cookie to the minion (once the provider has it).
    const first = await pollUntil('minion reachable through traefik', async () => {
      const r = await get(`${stack.web}/`, cookie);
      return r.status === 200 && !r.headers['x-spawner-wake'] ? r : undefined;
    });
    const app1 = JSON.parse(first.body) as { hostname: string; connstr: string };
    expect(app1.hostname).toBe('minion-1'); // Hostname: the instance name, as the original set it
    expect(app1.connstr).toBe('db://one');

    // 2. Stop it; Traefik drops the router; the next request lands on the wake listener.
    const stop = await api(stack, token, 'POST', '/deploy/minion-1/stop');
    expect(stop.status).toBe(200);
    expect(stop.body.status).toBe('exited');
    const woke = await pollUntil('request falls through to the wake listener', async () => {
      const r = await get(`${stack.web}/a/b?c=1`, cookie);
      if (process.env.E2E_DEBUG) console.log("poll", r.status, JSON.stringify(r.headers).slice(0, 200), r.body.slice(0, 100));
      return r.headers['x-spawner-wake'] ? r : undefined;
    });
    expect(woke.status).toBe(307);
    expect(woke.headers.location).toBe('/a/b?c=1');
    expect(String(woke.headers['server-timing'])).toMatch(/total;dur=\d+/);

    // 3. Following the redirect reaches the same minion, at the same path.
    const again = await get(`${stack.web}${String(woke.headers.location)}`, cookie);
    expect(again.status).toBe(200);
    expect(again.headers['x-spawner-wake']).toBeUndefined();
    const app2 = JSON.parse(again.body) as { hostname: string; path: string };
    expect(app2.hostname).toBe('minion-1');
    expect(app2.path).toBe('/a/b?c=1');

    const list = await api(stack, token, 'GET', '/deploy');
    expect(list.body.instances.map((i: { name: string; status: string }) => [i.name, i.status])).toEqual([['minion-1', 'running']]);
  });

  it('sends a client without a valid cookie home, and never wakes anything for it', async () => {
    const browser = await get(`${stack.web}/`, 'instance=minion-1.00000000000000000000000000000000', { accept: 'text/html' });
    expect(browser.status).toBe(302);
    expect(browser.headers.location).toBe('/home');
    const apiClient = await get(`${stack.web}/`, 'instance=minion-1');
    expect(apiClient.status).toBe(401);
    expect(apiClient.headers['content-type']).toContain('application/problem+json');
  });
});
