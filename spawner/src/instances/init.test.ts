/**
 * Initialization as the spec: after the first readiness the instance gets one POST (payload +
 * generated credentials + Idempotency-Key) on its own address; the answer is sealed at rest; a
 * failure stops the container and the next wake runs init again. FakeRuntime, a Traefik
 * stand-in and a scripted HTTP attempt (init-http.test.ts covers the real HTTP side).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HealthWatcher } from '../readiness/health.js';
import type { GateDeps } from '../readiness/gate.js';
import type { Database } from '../store/db.js';
import type { TraefikApi } from '../traefik/api.js';
import { fakeTraefik } from '../testing/fake-traefik.js';
import { memoryDeps, rejection } from '../testing/fixtures.js';
import type { Attempt } from './init-http.js';
import type { InitSpec } from './init.js';
import { convergeInit } from './init-converge.js';
import { InstanceService } from './service.js';
import type { DeploySpec } from './types.js';
import { Waker } from './waker.js';

const dbs: Database[] = [];
afterEach(() => { for (const db of dbs.splice(0)) db.close(); });

interface Call { url: string; body: Record<string, any>; headers: Record<string, string> }

function harness(answers: Attempt[] = [{ kind: 'ok', json: { ok: 1 }, text: '{"user":"u","password":"app-made-S3CRET"}' }], initKey?: Buffer | null) {
  const calls: Call[] = [];
  let script = [...answers];
  const deps = memoryDeps({
    cfg: { probeThroughProxy: false }, initKey,
    initPost: async (url, body, headers) => {
      calls.push({ url, body: JSON.parse(body) as Record<string, any>, headers });
      return script.length > 1 ? script.shift() as Attempt : script[0] as Attempt;
    },
  });
  dbs.push(deps.db);
  const service = new InstanceService(deps);
  const health = new HealthWatcher(deps.runtime);
  const gate: GateDeps = { cfg: deps.cfg, runtime: deps.runtime, health, traefik: fakeTraefik(deps.runtime) as unknown as TraefikApi, now: deps.now };
  const waker = new Waker(deps, service, gate);
  const abort = new AbortController();
  deps.runtime.watch({}, (ev) => health.onEvent(ev), { signal: abort.signal });
  afterEach(() => abort.abort());
  return { ...deps, service, waker, calls, answer: (a: Attempt[]) => { script = [...a]; } };
}

const init = (over: Partial<InitSpec> = {}): InitSpec => ({ path: '/init', payload: { plan: 'pro-plan-X' }, when: 'once', deadlineSec: 5, ...over });
const spec = (name: string, i: InitSpec | null = init()): DeploySpec => ({
  name, image: 'mock-app:latest', network: 'spawner', port: 9000, routing: 'cookie', public: false, egress: true,
  labels: {}, traefikLabels: {}, env: {}, limits: { memoryMb: 256, cpus: 0.5, pids: 256 }, ...(i ? { init: i } : {}),
});

async function deployAndWake(h: ReturnType<typeof harness>, name: string, i?: InitSpec) {
  await h.service.deploy(spec(name, i));
  return h.waker.wake(h.service.resolve(name));
}

const stateOf = (h: ReturnType<typeof harness>, name: string) => [...h.runtime.containers.values()].find((c) => c.name === `spawner-${name}`)?.state;

describe('init after the first readiness', () => {
  it('POSTs the payload and fresh credentials to the instance\'s own address, with an idempotency key', async () => {
    const h = harness();
    const out = await deployAndWake(h, 'alice');
    expect(h.calls).toHaveLength(1);
    const [c] = h.calls;
    const ip = Object.values([...h.runtime.containers.values()][0]?.ips ?? {})[0];
    expect(c?.url).toBe(`http://${ip}:9000/init`);
    expect(c?.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(c?.body).toEqual({ instance: 'alice', payload: { plan: 'pro-plan-X' }, credentials: { username: expect.stringMatching(/^u[0-9a-f]{12}$/), password: expect.stringMatching(/^[\w-]{32}$/) } });
    expect(out.timings.init).toBeGreaterThanOrEqual(0);
    expect(h.init.view('alice', true)).toMatchObject({ status: 'done', reason: null, runs: 1, result: { user: 'u', password: 'app-made-S3CRET' } });
    expect(h.events.list({ instance: 'alice' }).map((e) => e.kind)).toEqual(['deployed', 'init_ok', 'wake']);
  });

  it('keeps payload, credentials and answer sealed in the database', async () => {
    const h = harness();
    await deployAndWake(h, 'alice');
    const password = String(h.calls[0]?.body.credentials.password);
    const dump = JSON.stringify(h.db.prepare('SELECT * FROM instance_init').all(), (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v))
      + JSON.stringify(h.db.prepare('SELECT * FROM events').all());
    for (const clear of [password, 'pro-plan-X', 'app-made-S3CRET', String(h.calls[0]?.body.credentials.username)]) expect(dump).not.toContain(clear);
  });

  it('runs once: later wakes and restarts do not POST again', async () => {
    const h = harness();
    await deployAndWake(h, 'alice');
    await h.service.stop('alice');
    await h.waker.wake(h.service.resolve('alice'));
    expect(h.calls).toHaveLength(1);
  });

  it('every-start: again after each start, with the same key and credentials', async () => {
    const h = harness();
    await deployAndWake(h, 'alice', init({ when: 'every-start' }));
    await h.waker.wake(h.service.resolve('alice')); // already running: not a start
    expect(h.calls).toHaveLength(1);
    await h.service.stop('alice');
    await h.waker.wake(h.service.resolve('alice'));
    expect(h.calls).toHaveLength(2);
    expect(h.calls[1]?.headers).toEqual(h.calls[0]?.headers);
    expect(h.calls[1]?.body).toEqual(h.calls[0]?.body);
  });

  it('retries what is transient until it answers', async () => {
    const h = harness([{ kind: 'retry', why: 'ECONNREFUSED' }, { kind: 'retry', why: 'status 503' }, { kind: 'ok', json: {}, text: '{}' }]);
    await deployAndWake(h, 'alice');
    expect(h.calls).toHaveLength(3);
    expect(h.init.view('alice', false)?.status).toBe('done');
  });

  it('deadline: init_failed with the reason, the container stopped; the next wake runs init again', async () => {
    const h = harness([{ kind: 'retry', why: 'ECONNREFUSED' }]);
    await h.service.deploy(spec('alice', init({ deadlineSec: 1 })));
    const err = await rejection(h.waker.wake(h.service.resolve('alice')));
    expect(err.code).toBe('init_failed');
    expect(err.message).toContain('no answer within 1 s (last: ECONNREFUSED)');
    expect(h.calls.length).toBeGreaterThan(2); // retried with backoff until the deadline
    expect(stateOf(h, 'alice')).toBe('exited');
    expect(h.init.view('alice', false)).toMatchObject({ status: 'failed', reason: 'no answer within 1 s (last: ECONNREFUSED)' });
    expect((await h.service.get('alice')).init).toEqual({ status: 'failed', reason: 'no answer within 1 s (last: ECONNREFUSED)' });
    expect(h.events.list({ instance: 'alice' }).map((e) => e.kind)).toEqual(['deployed', 'init_failed', 'wake_failed']);

    h.answer([{ kind: 'ok', json: {}, text: '{"n":2}' }]);
    await h.waker.wake(h.service.resolve('alice'));
    expect(stateOf(h, 'alice')).toBe('running');
    expect(h.init.view('alice', true)).toMatchObject({ status: 'done', reason: null, runs: 2, result: { n: 2 } });
  });

  it('a definite failure (e.g. status 500) fails at once, stops the container, and says only why', async () => {
    const h = harness([{ kind: 'fail', why: 'the instance answered status 500' }]);
    await h.service.deploy(spec('alice'));
    const err = await rejection(h.waker.wake(h.service.resolve('alice')));
    expect(err.code).toBe('init_failed');
    expect(err.status).toBe(502);
    expect(h.calls).toHaveLength(1);
    expect(err.message).not.toContain(String(h.calls[0]?.body.credentials.password));
    expect(err.message).not.toContain('pro-plan-X');
    expect(stateOf(h, 'alice')).toBe('exited');
  });

  it('an instance that was already running is stopped too when its init fails', async () => {
    const h = harness([{ kind: 'fail', why: 'the answer is not JSON' }]);
    await h.service.deploy(spec('alice'));
    expect(stateOf(h, 'alice')).toBe('running'); // the deploy started it
    await rejection(h.waker.wake(h.service.resolve('alice')));
    expect(stateOf(h, 'alice')).toBe('exited');
  });

  it('without a key, a deploy with init is refused before any engine call, and leaves no row', async () => {
    const h = harness(undefined, null);
    const err = await rejection(h.service.deploy(spec('alice')));
    expect(err.code).toBe('init_unavailable');
    expect(err.field).toBe('init');
    expect(h.runtime.calls).toEqual([]);
    expect(h.instances.get('alice')).toBeUndefined();
    await h.service.deploy(spec('bob', null)); // without init: fine
  });

  it('an instance without init never POSTs and shows init: null', async () => {
    const h = harness();
    await h.service.deploy(spec('bob', null));
    await h.waker.wake(h.service.resolve('bob'));
    expect(h.calls).toEqual([]);
    expect((await h.service.get('bob')).init).toBeNull();
  });

  it('removing the instance removes its init row', async () => {
    const h = harness();
    await deployAndWake(h, 'alice');
    await h.service.remove('alice');
    expect(h.initStore.get('alice')).toBeUndefined();
  });
});

describe('start-up convergence of an interrupted init', () => {
  it('marks it failed ("interrupted") and stops the container; the next wake re-runs it with the same key', async () => {
    const h = harness();
    await h.service.deploy(spec('alice'));
    h.initStore.markRunning('alice', Date.now()); // what a kill -9 in the middle of a run leaves
    expect(await convergeInit(h, h.initStore, h.service)).toEqual(['alice']);
    expect(stateOf(h, 'alice')).toBe('exited');
    expect(h.init.view('alice', false)).toMatchObject({ status: 'failed', reason: 'interrupted: the spawner stopped during init' });
    await h.waker.wake(h.service.resolve('alice'));
    expect(h.init.view('alice', false)?.status).toBe('done');
    expect(await convergeInit(h, h.initStore, h.service)).toEqual([]);
  });
});
