import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../config.js';
import type { InstanceRecord } from '../instances/types.js';
import { FakeRuntime } from '../runtime/fake.js';
import type { TraefikApi } from '../traefik/api.js';
import { describeProgress, GATE_POLL, probeUrl, waitReady, type GateProgress } from './gate.js';
import { HealthWatcher } from './health.js';

const rec = (over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  name: 'alice', containerId: null, image: 'mock-app:latest', network: 'spawner', port: 9000, routing: 'cookie',
  public: false, secretHash: null, healthCheck: null, idleTimeoutSec: null, labels: {}, createdAt: 0,
  lastWakeAt: null, lastActivityAt: null, ...over,
});

describe('probeUrl: the health-check URL is only ever aimed at the container itself', () => {
  it.each([
    ['http://minion-1:9000/status', 'http://10.0.0.5:9000/status'],
    ['http://169.254.169.254/latest/meta-data?x=1', 'http://10.0.0.5:80/latest/meta-data?x=1'],
    ['https://evil.example:8443/a', 'https://10.0.0.5:8443/a'],
  ])('%s → %s', (url, want) => {
    expect(probeUrl(rec({ healthCheck: url }), '10.0.0.5')).toBe(want);
  });

  it('uses the configured health path, else nothing (TCP probe)', () => {
    expect(probeUrl(rec(), '10.0.0.5', '/healthz')).toBe('http://10.0.0.5:9000/healthz');
    expect(probeUrl(rec(), '10.0.0.5')).toBeUndefined();
    expect(probeUrl(rec(), 'fd00::5', '/h')).toBe('http://[fd00::5]:9000/h');
  });
});

/** The gate's dependencies over the fake runtime and a scripted Traefik; no probe through Traefik. */
function gateDeps(runtime: FakeRuntime, traefik: TraefikApi) {
  return { cfg: { ...DEFAULTS, probeThroughProxy: false }, runtime, health: new HealthWatcher(runtime), traefik, now: Date.now };
}

/** A started, healthy container of instance alice on the fake runtime. */
async function healthyAlice() {
  const runtime = new FakeRuntime();
  runtime.images.add('mock-app:latest');
  runtime.healthOnStart = 'healthy';
  runtime.addNetwork('spawner-spawner-alice'); // alice's own network (instanceNetworkName)
  const id = await runtime.create({
    name: 'spawner-alice', image: 'mock-app:latest', networks: ['spawner-spawner-alice'], labels: {}, env: {},
    limits: { memoryBytes: 1, nanoCpus: 1, pids: 1 }, stopTimeoutSec: 1,
  });
  await runtime.start(id);
  return { runtime, id };
}

/** A Traefik whose API cannot be read at all (every call fails as fetch does when it is down). */
const unreadableTraefik = () => ({
  router: async () => { throw new Error('fetch failed'); },
  service: async () => { throw new Error('fetch failed'); },
}) as unknown as TraefikApi;

describe('waitReady progress', () => {
  it('a deadline while Traefik cannot be read says so, with the error only in the internal text', async () => {
    const { runtime, id } = await healthyAlice();
    const traefik = unreadableTraefik();
    const progress: GateProgress = { step: 'app' };
    const deps = gateDeps(runtime, traefik);
    await expect(waitReady(deps, { record: rec({ containerId: id }), containerId: id }, AbortSignal.timeout(300), progress)).rejects.toThrow();
    expect(progress.step).toBe('route');
    expect(describeProgress(progress)).toBe('waiting for Traefik to route to the instance (last error: Traefik API: fetch failed)');
    expect(describeProgress(progress, false)).toBe('waiting for Traefik to route to the instance');
  });

  it("a router Traefik refuses (its errors middleware names a missing service) is named in the internal text", async () => {
    const { runtime, id } = await healthyAlice();
    const traefik = {
      router: async () => ({ status: 'disabled', service: 'spawner-i-alice', errors: ['the service "nope@docker" does not exist'] }),
      service: async () => ({ serverUrls: [] }),
    } as unknown as TraefikApi;
    const progress: GateProgress = { step: 'app' };
    const deps = gateDeps(runtime, traefik);
    await expect(waitReady(deps, { record: rec({ containerId: id }), containerId: id }, AbortSignal.timeout(300), progress)).rejects.toThrow();
    expect(describeProgress(progress)).toBe('waiting for Traefik to route to the instance (last error: Traefik: router spawner-i-alice is disabled: the service "nope@docker" does not exist)');
    expect(describeProgress(progress, false)).toBe('waiting for Traefik to route to the instance');
  });
});

describe('waitReady without a HEALTHCHECK watches the route while the app boots', () => {
  /** A container of alice whose address is 127.0.0.1 (the probe really connects), and a port where nothing listens yet. */
  async function bootingAlice() {
    const runtime = new FakeRuntime();
    runtime.images.add('mock-app:latest');
    runtime.startIp = '127.0.0.1';
    runtime.addNetwork('spawner-spawner-alice'); // alice's own network (instanceNetworkName)
    const port = await freePort();
    const id = await runtime.create({
      name: 'spawner-alice', image: 'mock-app:latest', networks: ['spawner-spawner-alice'], labels: {}, env: {},
      limits: { memoryBytes: 1, nanoCpus: 1, pids: 1 }, stopTimeoutSec: 1,
    });
    await runtime.start(id);
    return { runtime, id, port };
  }

  it('a route that Traefik shows before the app answers costs the wake nothing (route = 0)', async () => {
    const { runtime, id, port } = await bootingAlice();
    let firstRead: number | undefined;
    let listenedAt: number | undefined;
    const traefik = {
      router: async () => { firstRead ??= Date.now(); return { status: 'enabled', service: 'spawner-i-alice' }; },
      service: async () => ({ serverUrls: [`http://127.0.0.1:${port}`] }),
    } as unknown as TraefikApi;
    const app = net.createServer((s) => s.end());
    const listening = setTimeout(() => { listenedAt = Date.now(); app.listen(port, '127.0.0.1'); }, 150);
    try {
      const deps = gateDeps(runtime, traefik);
      const timings = await waitReady(deps, { record: rec({ containerId: id, port }), containerId: id }, AbortSignal.timeout(5_000));
      // Traefik was asked while the app was still booting, so the route was known when it came up.
      expect(firstRead).toBeDefined();
      expect(listenedAt).toBeDefined();
      expect(firstRead as number).toBeLessThan(listenedAt as number);
      expect(timings.route).toBe(0);
      expect(timings.health).toBeGreaterThanOrEqual(100);
    } finally {
      clearTimeout(listening);
      app.close();
    }
  });

  it('a deadline while the app boots blames the app, not Traefik errors seen meanwhile', async () => {
    const { runtime, id, port } = await bootingAlice();
    const traefik = unreadableTraefik();
    const progress: GateProgress = { step: 'app' };
    const deps = gateDeps(runtime, traefik);
    await expect(waitReady(deps, { record: rec({ containerId: id, port }), containerId: id }, AbortSignal.timeout(300), progress)).rejects.toThrow();
    expect(progress.step).toBe('app');
    expect(describeProgress(progress)).toBe('waiting for the app to answer its health check');
  });

  it('polls its steps at most every 50 ms', () => {
    expect(GATE_POLL.firstMs).toBeLessThanOrEqual(GATE_POLL.capMs);
    expect(GATE_POLL.capMs).toBeLessThanOrEqual(50);
  });
});

/** A 127.0.0.1 port nothing listens on (asked of the OS, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
