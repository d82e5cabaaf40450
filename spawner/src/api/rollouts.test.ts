import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthService } from '../auth/service.js';
import { LoginRateLimiter } from '../auth/rate-limit.js';
import { InstanceService } from '../instances/service.js';
import { TokenStore } from '../store/tokens.js';
import { RolloutStore } from '../store/rollouts.js';
import { RolloutRunner } from '../rollouts/runner.js';
import { silentLogger } from '../log.js';
import { memoryDeps } from '../testing/fixtures.js';
import { FakeUpgrader } from '../testing/fake-upgrader.js';
import { rawRequest } from '../testing/http.js';
import { createApiApp } from './app.js';

const SERVICE_TOKEN = 'home-app-service-token-0123456789';
let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function harness() {
  const deps = memoryDeps({ cfg: { allowedImages: ['mock-app:*'] } });
  const auth = new AuthService({
    users: new Map(), tokens: new TokenStore(deps.db), limiter: new LoginRateLimiter({}), serviceToken: SERVICE_TOKEN, tokenTtlSec: 3600,
  });
  const store = new RolloutStore(deps.db);
  const up = new FakeUpgrader();
  for (const n of ['a', 'b', 'c']) up.add(n);
  const runner = new RolloutRunner({ store, upgrader: up, log: silentLogger, now: () => 1_000, sleep: async () => undefined });
  const waker = { wake: async () => ({ started: false, timings: { start: 0, health: 0, route: 0, probe: 0, total: 0 } }) };
  const app = createApiApp({
    cfg: deps.cfg, auth, service: new InstanceService(deps), events: deps.events, metrics: deps.metrics, isClosing: () => false,
    waker, probeNonce: 'n', runtimes: async () => [], rollouts: { cfg: deps.cfg, runner, store },
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server!.once('listening', r));
  const port = (server!.address() as AddressInfo).port;
  const send = (method: string, path: string, body?: unknown, token: string | null = SERVICE_TOKEN) => rawRequest(port, method, path, {
    'content-type': 'application/json', ...(token ? { token } : {}),
  }, body === undefined ? undefined : JSON.stringify(body));
  return { send, runner, up };
}

const body = { selector: { image: 'mock-app:*' }, target: { image: 'mock-app:v2' }, canary: 1, waveSize: 1, waveDelaySec: 0 };

describe('the /rollouts API', () => {
  it('needs a token', async () => {
    const { send } = await harness();
    expect((await send('GET', '/rollouts', undefined, null)).status).toBe(401);
  });

  it('starts a rollout (202), shows its per-instance progress, and records who started it', async () => {
    const { send, runner } = await harness();
    const res = await send('POST', '/rollouts', body);
    expect(res.status).toBe(202);
    expect(res.json()).toMatchObject({ status: 'pulling', createdBy: 'service', canary: 1, waveSize: 1, counts: { pending: 3 } });
    await runner.idle();
    const shown = (await send('GET', `/rollouts/${res.json().id}`)).json();
    expect(shown.status).toBe('done');
    expect(shown.counts).toMatchObject({ upgraded: 3, pending: 0 });
    expect(shown.instances.map((i: { instance: string; wave: number }) => [i.instance, i.wave])).toEqual([['a', 0], ['b', 1], ['c', 2]]);
    const list = (await send('GET', '/rollouts')).json();
    expect(list.rollouts).toHaveLength(1);
    expect(list.rollouts[0].instances).toBeUndefined();
  });

  it('pauses, resumes and aborts, and refuses a transition that does not apply (409)', async () => {
    const { send, runner, up } = await harness();
    let release!: () => void;
    up.hold = new Promise<void>((r) => { release = r; });
    const id = (await send('POST', '/rollouts', body)).json().id;
    expect((await send('POST', `/rollouts/${id}/pause`)).json().status).toBe('paused');
    expect((await send('POST', `/rollouts/${id}/pause`)).status).toBe(409);
    release();
    await runner.idle();
    expect((await send('POST', `/rollouts/${id}/resume`)).json().status).toBe('running');
    await runner.idle();
    expect((await send('GET', `/rollouts/${id}`)).json().status).toBe('done');
    const aborted = await send('POST', `/rollouts/${id}/abort`);
    expect(aborted.status).toBe(409);
    expect(aborted.json().code).toBe('conflict');
  });

  it.each([
    ['a selector that matches nothing', { ...body, selector: { image: 'other:*' } }, 422, 'selector_empty', 'selector'],
    ['an unknown field', { ...body, extra: 1 }, 400, 'invalid_field', 'extra'],
    ['an image outside the allowlist', { ...body, target: { image: 'evil:1' } }, 400, 'image_not_allowed', 'image'],
    ['an empty target', { ...body, target: {} }, 400, 'invalid_field', 'target'],
    ['a ratio above 1', { ...body, maxFailureRatio: 2 }, 400, 'invalid_field', 'maxFailureRatio'],
    ['a zero wave size', { ...body, waveSize: 0 }, 400, 'invalid_field', 'waveSize'],
    ['a selector glob with a backtick', { ...body, selector: { image: 'mock-app:`x`' } }, 400, 'invalid_field', 'selector.image'],
    ['a reserved env key', { ...body, target: { envs: { SPAWNER_IDENTITY_TOKEN: 'x' } } }, 400, 'invalid_field', 'target.envs.SPAWNER_IDENTITY_TOKEN'],
  ])('refuses %s with problem+json naming the field, storing nothing', async (_what, bad, status, code, field) => {
    const { send } = await harness();
    const res = await send('POST', '/rollouts', bad);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ code, field });
    expect((await send('GET', '/rollouts')).json().rollouts).toEqual([]);
  });

  it('answers 400 for an id that is not a number and 404 for an unknown one', async () => {
    const { send } = await harness();
    expect((await send('GET', '/rollouts/abc')).status).toBe(400);
    expect((await send('GET', '/rollouts/99')).json().code).toBe('not_found');
  });
});
