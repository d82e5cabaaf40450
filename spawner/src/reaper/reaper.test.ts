import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS, type Config } from '../config.js';
import type { Logger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { FakeRuntime } from '../runtime/fake.js';
import { openDatabase, type Database } from '../store/db.js';
import { EventLog } from '../store/events.js';
import { InstanceStore } from '../store/instances.js';
import { InstanceService } from '../instances/service.js';
import type { DeploySpec } from '../instances/types.js';
import { IdleReaper } from './reaper.js';
import type { ActivitySample } from './activity.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const IMAGE = 'mock-app:dev';
const SPAWNER_ID = 'sp-test';

const dbs: Database[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const db of dbs.splice(0)) db.close();
});

function spec(name: string, idleTimeoutSec?: number): DeploySpec {
  return {
    name, image: IMAGE, network: 'spawner', port: 9000, routing: 'cookie', public: false, egress: true,
    labels: {}, traefikLabels: {}, env: {}, limits: { memoryMb: 256, cpus: 0.5, pids: 256 },
    ...(idleTimeoutSec === undefined ? {} : { idleTimeoutSec }),
  };
}

function harness(over: Partial<Config> = {}, opts: { statusSink?: boolean } = {}) {
  vi.useFakeTimers({ now: T0 });
  const db = openDatabase(':memory:');
  dbs.push(db);
  const cfg: Config = { ...structuredClone(DEFAULTS), idleTimeoutSec: 0, idleCheckSec: 1, ...over };
  const tx = new Map<string, number>(); // container id -> bytes sent
  const sockets = new Map<string, string | Error>(); // container id -> socket table (or failure)
  const runtime = Object.assign(new FakeRuntime(), {
    networkTxBytes: vi.fn(async (id: string) => tx.get(id) ?? 100),
    readSocketTable: vi.fn(async (id: string) => {
      const t = sockets.get(id);
      if (t instanceof Error) throw t;
      return t ?? '';
    }),
  });
  runtime.images.add(IMAGE);
  const requests = new Map<string, number>(); // instance -> Traefik request counter
  const traefik = {
    fail: false,
    metrics: vi.fn(async () => {
      if (traefik.fail) throw new Error('connect ECONNREFUSED traefik:8080');
      return [...requests].map(([n, v]) =>
        `traefik_service_requests_total{code="200",method="GET",protocol="http",service="spawner-i-${n}@docker"} ${v}`).join('\n');
    }),
  };
  const lines: string[] = [];
  const log: Logger = {
    debug: (m, f) => lines.push(`debug ${m} ${JSON.stringify(f ?? {})}`),
    info: (m, f) => lines.push(`info ${m} ${JSON.stringify(f ?? {})}`),
    warn: (m, f) => lines.push(`warn ${m} ${JSON.stringify(f ?? {})}`),
    error: (m, f) => lines.push(`error ${m} ${JSON.stringify(f ?? {})}`),
  };
  const instances = new InstanceStore(db);
  const events = new EventLog(db);
  const metrics = createMetrics();
  const now = () => Date.now();
  const service = new InstanceService({ cfg, runtime, instances, events, spawnerId: SPAWNER_ID, log, metrics, now });
  const samples: ActivitySample[] = [];
  const onSample = opts.statusSink === false ? undefined : (sample: ActivitySample) => { samples.push(sample); };
  const reaperDeps = { cfg, spawnerId: SPAWNER_ID, runtime, instances, service, traefik, log, now };
  const reaper = new IdleReaper({ ...reaperDeps, onSample });

  async function deploy(name: string, idleTimeoutSec?: number): Promise<string> {
    const { view } = await service.deploy(spec(name, idleTimeoutSec));
    const id = view.id as string;
    (runtime.containers.get(id) as { startedAt?: string }).startedAt = new Date(Date.now()).toISOString();
    return id;
  }
  const status = async (name: string) => (await service.get(name)).status;
  const stopsOf = (name: string) => events.list({ instance: name }).filter((e) => e.kind === 'stopped');
  /** Advance fake time to T0 + ms, running every timer and the promises they start. */
  const at = (ms: number) => vi.advanceTimersByTimeAsync(T0 + ms - Date.now());
  const bump = (name: string, by = 1) => requests.set(name, (requests.get(name) ?? 0) + by);
  return { cfg, runtime, tx, sockets, traefik, requests, bump, lines, instances, events, metrics, service, reaper, deploy, status, stopsOf, at, samples, reaperDeps };
}

describe('IdleReaper', () => {
  it('hands every scrape to the status figures, also of instances it does not watch (one scrape serves both)', async () => {
    const h = harness();
    await h.deploy('a', 0); // never stopped for idleness: not watched, still counted
    h.bump('a', 3);
    h.reaper.start();
    await h.at(1_000);
    expect(h.traefik.metrics).toHaveBeenCalledTimes(1);
    expect(h.samples.map((x) => x.series)).toEqual([[{ instance: 'a', key: 'spawner-i-a@docker 200 GET http', code: '200', value: 3 }]]);
    await h.at(2_000);
    const [first, second] = h.samples.map((x) => x.seq ?? 0);
    expect(second).toBeGreaterThan(first ?? Infinity); // numbered in the order they were started
    await h.reaper.stop();
  });

  it('without a status sink, a round with nothing to watch does not scrape at all', async () => {
    const h = harness({}, { statusSink: false });
    await h.deploy('a', 0);
    h.reaper.start();
    await h.at(3_000);
    expect(h.traefik.metrics).not.toHaveBeenCalled();
    await h.reaper.stop();
  });

  it('a failing status sink never keeps an idle instance running', async () => {
    const h = harness();
    const reaper = new IdleReaper({ ...h.reaperDeps, onSample: () => { throw new Error('disk full'); } });
    await h.deploy('a', 2);
    reaper.start();
    await h.at(3_000);
    expect(await h.status('a')).toBe('exited');
    expect(h.lines.some((l) => l.startsWith('warn status figures not updated'))).toBe(true);
    await reaper.stop();
  });

  it('stops an untouched instance once its timeout has passed since it was first watched, not before', async () => {
    const h = harness();
    await h.deploy('a', 5);
    h.reaper.start();
    // First round at +1 s starts the watch; idle from then on: due at +6 s.
    await h.at(5_999);
    expect(await h.status('a')).toBe('running');
    await h.at(6_000);
    expect(await h.status('a')).toBe('exited');
    const [stop] = h.stopsOf('a');
    expect(stop).toMatchObject({ kind: 'stopped', reason: 'idle', at: T0 + 6_000 });
    expect(h.metrics.stops.render()).toContain('spawner_stops_total{reason="idle"} 1');
    expect(h.lines.some((l) => l.startsWith('info idle stop {"instance":"a","idleForSec":5'))).toBe(true);
    await h.reaper.stop();
  });

  it('requests counted by Traefik keep it running; it stops a timeout after the last round that saw one', async () => {
    const h = harness();
    await h.deploy('a', 3);
    h.reaper.start();
    for (let s = 1; s <= 10; s++) {
      h.bump('a');
      await h.at(s * 1_000);
    }
    expect(await h.status('a')).toBe('running');
    expect(h.instances.get('a')?.lastActivityAt).toBe(T0 + 10_000);
    await h.at(12_999);
    expect(await h.status('a')).toBe('running');
    await h.at(13_000);
    expect(await h.status('a')).toBe('exited');
    await h.reaper.stop();
  });

  it('an open stream (bytes sent by the container every second) keeps it running; closing it lets it stop', async () => {
    const h = harness();
    const id = await h.deploy('a', 3);
    h.reaper.start();
    let bytes = 1_000;
    const ticking = setInterval(() => { bytes += 133; h.tx.set(id, bytes); }, 1_000);
    await h.at(30_000);
    expect(await h.status('a')).toBe('running');
    clearInterval(ticking);
    // The last tick (+30 s) is seen by the round at +30 s or +31 s (same-time timers): due at +33/34 s.
    await h.at(32_999);
    expect(await h.status('a')).toBe('running');
    await h.at(34_000);
    expect(await h.status('a')).toBe('exited');
    await h.reaper.stop();
  });

  // One ESTABLISHED connection from 172.18.0.2 (Traefik) to port 9000 (0x2328), as /proc/net/tcp prints it.
  const OPEN = '  sl  local_address rem_address   st\n   0: 030012AC:2328 020012AC:D3A2 01 00000000:00000000 00:00000000 00000000 0 0 1';

  it('a silent open connection (socket table) cancels the stop and is looked at again one timeout later', async () => {
    const h = harness({ socketProbeImage: 'spawner:dev' });
    const id = await h.deploy('a', 3);
    h.sockets.set(id, OPEN);
    h.reaper.start();
    // Watched from +1 s: due at +4 s, where the socket table shows the connection.
    await h.at(4_000);
    expect(await h.status('a')).toBe('running');
    expect(h.runtime.readSocketTable).toHaveBeenCalledWith(id, 'spawner:dev', expect.any(Number));
    expect(h.lines.some((l) => l.startsWith('info idle stop cancelled: open connections {"instance":"a","open":1}'))).toBe(true);
    expect(h.instances.get('a')?.lastActivityAt).toBe(T0 + 4_000);
    // Not probed every round: the next look is a timeout later (+7 s).
    const probes = h.runtime.readSocketTable.mock.calls.length;
    await h.at(6_999);
    expect(h.runtime.readSocketTable.mock.calls.length).toBe(probes);
    // The connection closed meanwhile: stopped at the next look.
    h.sockets.set(id, '');
    await h.at(7_000);
    expect(await h.status('a')).toBe('exited');
    expect(h.stopsOf('a')).toHaveLength(1);
    await h.reaper.stop();
  });

  it('an unreadable socket table does not block the stop (the other signals said idle); it is logged', async () => {
    const h = harness({ socketProbeImage: 'missing:image' });
    const id = await h.deploy('a', 3);
    h.sockets.set(id, new Error('No such image: missing:image'));
    h.reaper.start();
    await h.at(4_000);
    expect(await h.status('a')).toBe('exited');
    expect(h.lines.some((l) => l.startsWith('warn idle: open connections unknown') && l.includes('No such image'))).toBe(true);
    await h.reaper.stop();
  });

  it('without socketProbeImage the socket table is never read', async () => {
    const h = harness();
    const id = await h.deploy('a', 3);
    h.sockets.set(id, OPEN);
    h.reaper.start();
    await h.at(4_000);
    expect(await h.status('a')).toBe('exited');
    expect(h.runtime.readSocketTable).not.toHaveBeenCalled();
    await h.reaper.stop();
  });

  it('with a trusted state cache, rounds make no list call; a container started since is inspected once for its start time', async () => {
    const h = harness();
    const id = await h.deploy('a', 3);
    const abort = new AbortController();
    h.runtime.watch({}, (ev) => h.service.states.apply(ev), { signal: abort.signal });
    h.service.states.replaceAll(await h.runtime.list({}));
    h.reaper.start();
    h.runtime.calls.length = 0;
    await h.at(4_000);
    expect(await h.status('a')).toBe('exited');
    expect(h.runtime.calls.filter((c) => c.op === 'list')).toEqual([]);
    // Started again (a start event: the cache knows it runs, not since when): one inspect, then none.
    const c = h.runtime.containers.get(id) as { startedAt?: string };
    delete c.startedAt; // what the cache learns from the start (event, then inspect): no start time
    await h.service.start('a');
    c.startedAt = new Date(Date.now()).toISOString();
    h.runtime.calls.length = 0;
    h.instances.touchActivity('a', Date.now()); // in use: the rounds below only watch it
    await h.at(5_000);
    await h.at(6_000);
    expect(h.service.states.get(id)?.startedAt).toBeDefined();
    expect(h.runtime.calls.filter((c) => c.op === 'inspect' && c.arg === id)).toHaveLength(1);
    expect(h.runtime.calls.filter((c) => c.op === 'list')).toEqual([]);
    abort.abort();
    await h.reaper.stop();
  });

  it('timeout 0 never stops; null takes the global default', async () => {
    const h = harness({ idleTimeoutSec: 2 });
    await h.deploy('never', 0);
    await h.deploy('dflt');
    h.reaper.start();
    await h.at(3_000);
    expect([await h.status('never'), await h.status('dflt')]).toEqual(['running', 'exited']);
    await h.at(600_000);
    expect(await h.status('never')).toBe('running');
    // Never even sampled: no Docker stats call for it.
    expect(h.runtime.networkTxBytes.mock.calls.every(([cid]) => cid !== h.instances.get('never')?.containerId)).toBe(true);
    await h.reaper.stop();
  });

  it('stops nothing while Traefik metrics cannot be read (unknown is not idle)', async () => {
    const h = harness();
    await h.deploy('a', 2);
    h.traefik.fail = true;
    h.reaper.start();
    await h.at(60_000);
    expect(await h.status('a')).toBe('running');
    expect(h.lines.filter((l) => l.startsWith('warn idle check skipped')).length).toBeGreaterThan(50);
    h.traefik.fail = false;
    await h.at(63_000);
    expect(await h.status('a')).toBe('exited');
    await h.reaper.stop();
  });

  it('stops nothing whose traffic counter cannot be read', async () => {
    const h = harness();
    await h.deploy('a', 2);
    h.runtime.networkTxBytes.mockRejectedValue(new Error('stats unavailable'));
    h.reaper.start();
    await h.at(30_000);
    expect(await h.status('a')).toBe('running');
    h.runtime.networkTxBytes.mockImplementation(async () => 100);
    await h.at(33_000);
    expect(await h.status('a')).toBe('exited');
    await h.reaper.stop();
  });

  it('two-phase: a request seen by the fresh sample under the lock cancels the stop', async () => {
    const h = harness();
    await h.deploy('a', 2);
    h.reaper.start();
    await h.at(2_000);
    // The round at +3 s finds it due; between that sample and the re-check a request lands.
    let samples = 0;
    h.traefik.metrics.mockImplementation(async () => {
      samples++;
      if (samples === 2) h.bump('a');
      return `traefik_service_requests_total{service="spawner-i-a@docker"} ${h.requests.get('a') ?? 0}`;
    });
    await h.at(3_000);
    expect(samples).toBe(2);
    expect(await h.status('a')).toBe('running');
    expect(h.lines).toContain('info idle stop cancelled: used while draining {"instance":"a"}');
    expect(h.instances.get('a')?.lastActivityAt).toBe(T0 + 3_000);
    await h.at(5_000);
    expect(await h.status('a')).toBe('exited');
    await h.reaper.stop();
  });

  it('a wake that arrives during the idle stop waits for the lock, then starts the container again', async () => {
    const h = harness();
    await h.deploy('a', 2);
    let releaseStop!: () => void;
    const realStop = h.runtime.stop.bind(h.runtime);
    vi.spyOn(h.runtime, 'stop').mockImplementation(async (id: string) => {
      await new Promise<void>((r) => { releaseStop = r; });
      await realStop(id);
    });
    h.reaper.start();
    await h.at(3_000); // the stop is now in progress, holding the lock
    expect(h.reaper.isDraining('a')).toBe(true);
    expect(h.service.locks.isLocked('a')).toBe(true);
    // The Waker runs its body under the same lock; service.start does the same (lock, start).
    const wake = h.service.start('a');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.runtime.mutations()).toEqual(['create', 'start']); // the wake has not started anything
    releaseStop();
    const view = await wake;
    expect(view.status).toBe('running');
    expect(h.runtime.mutations()).toEqual(['create', 'start', 'stop', 'start']);
    expect(h.events.list({ instance: 'a' }).map((e) => `${e.kind}:${e.reason ?? ''}`)).toEqual(
      expect.arrayContaining(['stopped:idle', 'started:api']),
    );
    expect(h.reaper.isDraining('a')).toBe(false);
    await h.reaper.stop();
  });

  it('skips an instance whose lock is held (a wake in progress) and looks again next round', async () => {
    const h = harness();
    await h.deploy('a', 2);
    h.reaper.start();
    let release!: () => void;
    const busy = h.service.locks.run('a', () => new Promise<void>((r) => { release = r; }));
    await h.at(10_000);
    expect(await h.status('a')).toBe('running');
    release();
    await busy;
    await h.at(11_000);
    expect(await h.status('a')).toBe('exited');
    await h.reaper.stop();
  });

  it('a wake counts as activity (lastWakeAt), as does a restart of the container', async () => {
    const h = harness();
    const id = await h.deploy('a', 4);
    h.reaper.start();
    await h.at(3_000);
    h.instances.touchWake('a', T0 + 3_000);
    await h.at(6_500);
    expect(await h.status('a')).toBe('running');
    (h.runtime.containers.get(id) as { startedAt?: string }).startedAt = new Date(T0 + 6_500).toISOString();
    await h.at(10_000);
    expect(await h.status('a')).toBe('running');
    await h.at(11_000);
    expect(await h.status('a')).toBe('exited');
    await h.reaper.stop();
  });

  it('after a spawner restart an instance idle for long is given one full timeout, then stopped', async () => {
    const h = harness();
    const id = await h.deploy('a', 5);
    (h.runtime.containers.get(id) as { startedAt?: string }).startedAt = new Date(T0 - 3_600_000).toISOString();
    h.reaper.start();
    await h.at(5_999);
    expect(await h.status('a')).toBe('running');
    await h.at(6_000);
    expect(await h.status('a')).toBe('exited');
    await h.reaper.stop();
  });

  it('never touches containers of another spawner, even with our labels otherwise', async () => {
    const h = harness({ idleTimeoutSec: 1 });
    const foreign = await h.runtime.create({
      name: 'x-foreign', image: IMAGE, networks: ['spawner'], env: {}, stopTimeoutSec: 1,
      labels: { origin: 'spawner', 'spawner.id': 'other', 'spawner.instance': 'a' },
      limits: { memoryBytes: 1, nanoCpus: 1, pids: 1 },
    });
    await h.runtime.start(foreign);
    await h.deploy('a');
    h.reaper.start();
    await h.at(30_000);
    expect(await h.status('a')).toBe('exited');
    expect(h.runtime.containers.get(foreign)?.state).toBe('running');
    expect(h.runtime.calls.filter((c) => c.arg === foreign).map((c) => c.op)).toEqual(['start']);
    await h.reaper.stop();
  });

  it('stop() waits for the round in progress and no round runs afterwards', async () => {
    const h = harness();
    await h.deploy('a', 100);
    h.reaper.start();
    let resolveMetrics!: (s: string) => void;
    h.traefik.metrics.mockImplementation(() => new Promise<string>((r) => { resolveMetrics = r; }));
    await h.at(1_000);
    let stopped = false;
    const stopping = h.reaper.stop().then(() => { stopped = true; });
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    resolveMetrics('');
    await stopping;
    const calls = h.traefik.metrics.mock.calls.length;
    await h.at(60_000);
    expect(h.traefik.metrics.mock.calls.length).toBe(calls);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rounds run at a fixed rate: a slow round does not push every later round back', async () => {
    const h = harness({ idleCheckSec: 5 });
    await h.deploy('a', 1_000);
    const starts: number[] = [];
    h.traefik.metrics.mockImplementation(async () => {
      starts.push(Date.now() - T0);
      await new Promise((r) => setTimeout(r, 2_000));
      return '';
    });
    h.reaper.start();
    await h.at(21_000);
    expect(starts).toEqual([5_000, 10_000, 15_000, 20_000]);
    const stopping = h.reaper.stop(); // waits for the round started at +20 s (metrics until +22 s)
    await vi.advanceTimersByTimeAsync(1_000);
    await stopping;
  });
});
