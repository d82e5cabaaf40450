import { instanceNetworkName } from './deps.js';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Config } from '../config.js';
import { SpawnerError } from '../errors.js';
import { HealthWatcher } from '../readiness/health.js';
import type { GateDeps } from '../readiness/gate.js';
import { FakeRuntime } from '../runtime/fake.js';
import { type Database } from '../store/db.js';
import type { TraefikApi } from '../traefik/api.js';
import { Reconciler } from './reconcile.js';
import { InstanceService } from './service.js';
import type { DeploySpec, InstanceRecord } from './types.js';
import { memoryDeps, rejection } from '../testing/fixtures.js';
import { Waker } from './waker.js';
import { fakeTraefik } from '../testing/fake-traefik.js';

const dbs: Database[] = [];
const aborts: AbortController[] = [];
afterEach(() => {
  for (const a of aborts.splice(0)) a.abort();
  for (const db of dbs.splice(0)) db.close();
});

async function harness(over: Partial<Config> = {}) {
  const deps = memoryDeps({ cfg: { probeThroughProxy: false, ...over } });
  const { db, cfg, runtime, instances, events, metrics } = deps;
  dbs.push(db);
  // Containers get a HEALTHCHECK that reports healthy on start: the gate waits on health, not TCP.
  runtime.healthOnStart = 'healthy';
  const service = new InstanceService(deps);
  const health = new HealthWatcher(runtime);
  const reconciler = new Reconciler(deps, service);
  const traefik = fakeTraefik(runtime);
  const gate: GateDeps = { cfg, runtime, health, traefik: traefik as unknown as TraefikApi, now: deps.now };
  const waker = new Waker(deps, service, gate);
  const abort = new AbortController();
  aborts.push(abort);
  runtime.watch({}, (ev) => { health.onEvent(ev); reconciler.onEvent(ev); }, { signal: abort.signal });
  return { cfg, runtime, instances, events, metrics, service, health, traefik, waker, deps };
}

type H = Awaited<ReturnType<typeof harness>>;

const spec = (name: string, port = 9000): DeploySpec => ({
  name, image: 'mock-app:latest', network: 'spawner', port, routing: 'cookie', public: false, egress: true,
  labels: {}, traefikLabels: {}, env: {}, limits: { memoryMb: 256, cpus: 0.5, pids: 256 },
});

/** Deploys and stops an instance; returns its record and container id. */
async function stopped(h: H, name: string): Promise<{ rec: InstanceRecord; id: string }> {
  const { view } = await h.service.deploy(spec(name));
  await h.service.stop(name);
  h.runtime.calls.length = 0;
  return { rec: h.instances.get(name)!, id: view.id as string };
}

const starts = (h: H) => h.runtime.calls.filter((c) => c.op === 'start').length;
const stops = (h: H) => h.runtime.calls.filter((c) => c.op === 'stop').length;

describe('Waker single-flight', () => {
  it('100 concurrent wakes of one stopped instance → exactly one start, one shared outcome', async () => {
    const h = await harness();
    const { rec, id } = await stopped(h, 'alice');
    const wakes = Array.from({ length: 100 }, () => h.waker.wake(rec));
    expect(h.waker.inFlight('alice')).toBe(true);
    expect(new Set(wakes).size).toBe(1); // late callers join the same promise
    const outcomes = await Promise.all(wakes);
    expect(starts(h)).toBe(1);
    expect(h.runtime.calls.find((c) => c.op === 'start')?.arg).toBe(id);
    expect(new Set(outcomes).size).toBe(1);
    expect(outcomes[0]?.started).toBe(true);
    expect(h.runtime.containers.get(id)?.state).toBe('running');
    expect(h.waker.inFlight('alice')).toBe(false);
    expect(h.events.list({ instance: 'alice' }).filter((e) => e.kind === 'wake')).toHaveLength(1);
    expect(h.instances.get('alice')?.lastWakeAt).not.toBeNull();
  });

  it('an outcome carries non-negative timings for every phase', async () => {
    const h = await harness();
    const { rec } = await stopped(h, 'alice');
    const o = await h.waker.wake(rec);
    for (const k of ['start', 'health', 'route', 'probe', 'total'] as const) {
      expect(o.timings[k]).toBeGreaterThanOrEqual(0);
    }
    expect(o.timings.total).toBeGreaterThanOrEqual(o.timings.start);
    expect(h.metrics.registry.render()).toContain('spawner_wakes_total{result="ok"} 1');
  });

  it('a failed wake reaches all joined waiters once; the next wake starts afresh', async () => {
    const h = await harness();
    const { rec, id } = await stopped(h, 'alice');
    h.runtime.failStart = true;
    const wakes = Array.from({ length: 10 }, () => h.waker.wake(rec));
    const results = await Promise.allSettled(wakes);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    const reasons = new Set(results.map((r) => (r as PromiseRejectedResult).reason));
    expect(reasons.size).toBe(1);
    const [err] = [...reasons] as SpawnerError[];
    expect(err).toBeInstanceOf(SpawnerError);
    expect(err?.code).toBe('wake_failed');
    expect(err?.retryAfter).toBe(5);
    expect(starts(h)).toBe(1);
    expect(h.waker.inFlight('alice')).toBe(false);
    expect(h.events.list({ instance: 'alice' }).filter((e) => e.kind === 'wake_failed')).toHaveLength(1);

    h.runtime.failStart = false;
    const o = await h.waker.wake(rec);
    expect(starts(h)).toBe(2);
    expect(o.started).toBe(true);
    expect(h.runtime.containers.get(id)?.state).toBe('running');
  });

  it('a wake for a running container does not call start', async () => {
    const h = await harness();
    await h.service.deploy(spec('alice'));
    h.runtime.calls.length = 0;
    const o = await h.waker.wake(h.instances.get('alice')!);
    expect(o.started).toBe(false);
    expect(h.runtime.mutations()).toEqual([]);
  });

  it('a wake for an instance whose container is gone → not_found without engine mutations', async () => {
    const h = await harness();
    const { rec, id } = await stopped(h, 'alice');
    h.runtime.containers.delete(id);
    expect((await rejection(h.waker.wake(rec))).code).toBe('not_found');
    expect(h.runtime.mutations()).toEqual([]);
    expect(h.waker.inFlight('alice')).toBe(false);
  });
});

describe('Waker admission control', () => {
  it('maxQueuedWakes=0: beyond maxConcurrentStarts a new instance is refused with over_capacity', async () => {
    const h = await harness({ maxConcurrentStarts: 1, maxQueuedWakes: 0 });
    const a = await stopped(h, 'a');
    const b = await stopped(h, 'b');
    h.traefik.hold();
    const first = h.waker.wake(a.rec);
    const err = await rejection(h.waker.wake(b.rec));
    expect(err.code).toBe('over_capacity');
    expect(err.status).toBe(503);
    expect(err.retryAfter).toBeGreaterThan(0);
    expect(h.runtime.calls.filter((c) => c.op === 'start').map((c) => c.arg)).not.toContain(b.id);
    expect(h.metrics.registry.render()).toContain('spawner_wakes_total{result="over_capacity"} 1');
    // Joining the instance already in flight is not a new start and is admitted.
    expect(h.waker.wake(a.rec)).toBe(first);
    h.traefik.release();
    await first;
    // Capacity is back once the first flight settled.
    await expect(h.waker.wake(b.rec)).resolves.toMatchObject({ started: true });
    expect(starts(h)).toBe(2);
  });

  it('beyond maxConcurrentStarts new wakes wait in line and start in arrival order as slots free', async () => {
    const h = await harness({ maxConcurrentStarts: 1 });
    const [a, b, c] = [await stopped(h, 'a'), await stopped(h, 'b'), await stopped(h, 'c')];
    h.traefik.hold();
    const wa = h.waker.wake(a.rec);
    const wb = h.waker.wake(b.rec);
    const wc = h.waker.wake(c.rec);
    expect(h.waker.wake(b.rec)).toBe(wb); // a queued wake is joined like a running one
    await vi.waitFor(() => expect(starts(h)).toBe(1));
    expect(h.waker.queued).toBe(2);
    expect(h.waker.startsInFlight).toBe(1);
    h.traefik.release();
    await expect(Promise.all([wa, wb, wc])).resolves.toMatchObject([{ started: true }, { started: true }, { started: true }]);
    expect(h.runtime.calls.filter((x) => x.op === 'start').map((x) => x.arg)).toEqual([a.id, b.id, c.id]);
    expect(h.waker.startsInFlight).toBe(0);
    expect(h.waker.queued).toBe(0);
  });

  it('a full line refuses at once; a wake left in line past the wake deadline is refused, having started nothing', async () => {
    const h = await harness({ maxConcurrentStarts: 1, maxQueuedWakes: 1, wakeDeadlineSec: 1 });
    const [a, b, c] = [await stopped(h, 'a'), await stopped(h, 'b'), await stopped(h, 'c')];
    h.traefik.hold();
    const wa = h.waker.wake(a.rec);
    const wb = h.waker.wake(b.rec);
    expect((await rejection(h.waker.wake(c.rec))).code).toBe('over_capacity');
    const err = await rejection(wb);
    expect(err.code).toBe('over_capacity');
    expect(h.waker.queued).toBe(0);
    expect(h.runtime.calls.filter((x) => x.op === 'start').map((x) => x.arg)).toEqual([a.id]);
    h.traefik.release();
    await wa.catch(() => undefined);
    expect(h.waker.startsInFlight).toBe(0);
  });

  it('a failed flight also frees its slot', async () => {
    const h = await harness({ maxConcurrentStarts: 1 });
    const a = await stopped(h, 'a');
    const b = await stopped(h, 'b');
    h.runtime.failStart = true;
    await rejection(h.waker.wake(a.rec));
    h.runtime.failStart = false;
    await expect(h.waker.wake(b.rec)).resolves.toMatchObject({ started: true });
  });
});

describe('Waker failure handling: only stop what this wake started', () => {
  /**
   * Makes the readiness gate fail after the container is running: the container has a
   * HEALTHCHECK but never reports healthy, and the health watcher then sees it die.
   */
  async function failGateAfterStart(h: H, id: string, wake: Promise<unknown>) {
    const reached = new Promise<void>((resolve) => {
      const orig = h.health.waitHealthy.bind(h.health);
      h.health.waitHealthy = (cid, signal) => { const p = orig(cid, signal); resolve(); return p; };
    });
    await reached;
    await tick(); // let waitHealthy's inspect finish so it is parked on the event
    h.health.onEvent({ kind: 'die', id, name: 'x', labels: {}, time: Date.now() });
    return rejection(wake);
  }

  it('a failed wake that started the container stops it again', async () => {
    const h = await harness();
    const { rec, id } = await stopped(h, 'alice');
    h.runtime.healthOnStart = 'none'; // the HEALTHCHECK exists but will not report healthy
    const err = await failGateAfterStart(h, id, h.waker.wake(rec));
    expect(err.code).toBe('wake_failed');
    expect(h.runtime.mutations()).toEqual(['start', 'stop']);
    expect(h.runtime.containers.get(id)?.state).toBe('exited');
    const failed = h.events.list({ instance: 'alice' }).filter((e) => e.kind === 'wake_failed');
    expect(failed).toHaveLength(1);
    // The attempt's duration is recorded like a wake's (`total`, ms), for the instance's status.
    expect(failed[0]?.detail).toEqual({ stopped: true, started: true, total: expect.any(Number) });
    expect(failed[0]?.detail?.total).toBeGreaterThanOrEqual(0);
    expect(h.metrics.registry.render()).toContain('spawner_stops_total{reason="failed_wake"} 1');
  });

  it('our own stop after a failed wake is not logged as an external stop', async () => {
    const h = await harness();
    const { rec, id } = await stopped(h, 'alice');
    h.runtime.healthOnStart = 'none';
    await failGateAfterStart(h, id, h.waker.wake(rec));
    const kinds = h.events.list({ instance: 'alice' }).map((e) => e.kind);
    expect(kinds).not.toContain('external_stop');
    expect(kinds).not.toContain('external_start');
    expect(h.metrics.registry.render()).not.toContain('spawner_stops_total{reason="external"}');
  });

  it('a failed wake of an already running container never stops it', async () => {
    const h = await harness();
    const { view } = await h.service.deploy(spec('alice'));
    const id = view.id as string;
    const c = h.runtime.containers.get(id)!;
    c.health = 'starting'; // running, but its HEALTHCHECK has not passed yet
    h.runtime.calls.length = 0;
    const err = await failGateAfterStart(h, id, h.waker.wake(h.instances.get('alice')!));
    expect(err.code).toBe('wake_failed');
    expect(stops(h)).toBe(0);
    expect(starts(h)).toBe(0);
    expect(c.state).toBe('running');
    const failed = h.events.list({ instance: 'alice' }).filter((e) => e.kind === 'wake_failed');
    expect(failed[0]?.detail).toEqual({ stopped: false, started: false, total: expect.any(Number) });
  });

  it('a wake waits for a stop of the same instance that holds the lock, then starts again', async () => {
    const h = await harness();
    const { view } = await h.service.deploy(spec('alice'));
    h.runtime.calls.length = 0;
    const stop = h.service.stop('alice', 'idle');
    const wake = h.waker.wake(h.instances.get('alice')!);
    await stop;
    const o = await wake;
    expect(h.runtime.mutations()).toEqual(['stop', 'start']);
    expect(o.started).toBe(true);
    expect(h.runtime.containers.get(view.id as string)?.state).toBe('running');
  });
});

describe('Waker readiness gate', () => {
  it('waits until Traefik shows the route before resolving', async () => {
    const h = await harness();
    const { rec } = await stopped(h, 'alice');
    h.traefik.hold();
    let done = false;
    const wake = h.waker.wake(rec).then((o) => { done = true; return o; });
    await tick();
    await tick();
    expect(h.traefik.routerCalls).toBeGreaterThan(0);
    expect(done).toBe(false);
    h.traefik.release();
    await wake;
    expect(done).toBe(true);
  });

  it('uses the spawner-i-<name> router name', async () => {
    const h = await harness();
    const { rec } = await stopped(h, 'alice');
    const spy = vi.spyOn(h.traefik, 'router');
    await h.waker.wake(rec);
    expect(spy).toHaveBeenCalledWith('spawner-i-alice');
  });
});

describe('Waker readiness gate without a HEALTHCHECK (probes the container address)', () => {
  const servers: net.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  /** The fake engine hands out 10.x addresses; point the started container's own network at 127.0.0.1. */
  function startOnLoopback(h: H) {
    const orig = h.runtime.start.bind(h.runtime);
    vi.spyOn(h.runtime, 'start').mockImplementation(async (id) => {
      await orig(id);
      const c = h.runtime.containers.get(id);
      if (c) c.ips = { [instanceNetworkName(h.cfg, c.labels['spawner.instance'] ?? '')]: '127.0.0.1' };
    });
  }

  it('TCP: waits for a connect to <ip>:<port>', async () => {
    let connections = 0;
    const srv = net.createServer((sock) => { connections++; sock.destroy(); });
    servers.push(srv);
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as AddressInfo).port;

    const h = await harness();
    h.runtime.healthOnStart = 'none';
    startOnLoopback(h);
    const { view } = await h.service.deploy(spec('tcp', port));
    await h.service.stop('tcp');
    const o = await h.waker.wake(h.instances.get('tcp')!);
    expect(o.started).toBe(true);
    expect(connections).toBeGreaterThan(0);
    expect(h.runtime.containers.get(view.id as string)?.state).toBe('running');
  });

  it('HTTP: with cfg.healthPath, GETs that path on the container address', async () => {
    const paths: string[] = [];
    const srv = http.createServer((req, res) => { paths.push(req.url ?? ''); res.end('ok'); });
    servers.push(srv);
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as AddressInfo).port;

    const h = await harness({ healthPath: '/ready?x=1' });
    h.runtime.healthOnStart = 'none';
    startOnLoopback(h);
    await h.service.deploy(spec('web', port));
    await h.service.stop('web');
    paths.length = 0;
    await h.waker.wake(h.instances.get('web')!);
    expect(paths).toContain('/ready?x=1');
  });
});
