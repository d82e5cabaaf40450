/**
 * The wiring in main.ts, against the in-memory FakeRuntime: every (re)connection of the event
 * stream triggers a rescan, and SIGTERM's shutdown lets in-flight work finish within the grace
 * period (or cuts it off when the period is over), then closes the event stream and the database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS, type Config } from './config.js';
import { startSpawner, type Running } from './main.js';
import { FakeRuntime } from './runtime/fake.js';
import { LABEL } from './traefik/labels.js';
import type { ContainerSpec, RuntimeEvent } from './runtime/types.js';

class ScriptedRuntime extends FakeRuntime {
  reconnect: () => void = () => undefined;
  watchSignal?: AbortSignal;
  createGate?: Promise<void>;

  override watch(labels: Record<string, string>, onEvent: (e: RuntimeEvent) => void,
    opts: { signal: AbortSignal; onReconnect?: () => void }): void {
    super.watch(labels, onEvent, opts);
    if (labels[LABEL.edge]) return; // the edge containers' stream: not the one scripted here
    this.watchSignal = opts.signal;
    this.reconnect = () => opts.onReconnect?.();
  }

  override async create(spec: ContainerSpec): Promise<string> {
    await this.createGate;
    return super.create(spec);
  }

  rescans(): number {
    return this.calls.filter((c) => c.op === 'list').length;
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function boot(over: Partial<Config> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'spawner-main-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const cfg: Config = {
    ...structuredClone(DEFAULTS), dataDir: dir, authDisabled: true, apiPort: 0, wakePort: 0,
    apiHost: '127.0.0.1', wakeHost: '127.0.0.1', traefikApiUrl: 'http://127.0.0.1:9', logLevel: 'error', ...over,
  };
  const runtime = new ScriptedRuntime();
  runtime.images.add('mock-app:dev');
  const running: Running = await startSpawner(cfg, runtime);
  cleanups.push(() => running.shutdown());
  const api = `http://127.0.0.1:${(running.apiServer.address() as AddressInfo).port}`;
  return { cfg, runtime, running, api };
}

describe('main wiring', () => {
  it('rescans at start-up and after every reconnection of the event stream', async () => {
    const { runtime } = await boot();
    await vi.waitFor(() => expect(runtime.rescans()).toBeGreaterThanOrEqual(1));
    const before = runtime.rescans();
    runtime.reconnect(); // e.g. dockerd came back
    await vi.waitFor(() => expect(runtime.rescans()).toBe(before + 1));
    runtime.reconnect();
    await vi.waitFor(() => expect(runtime.rescans()).toBe(before + 2));
  });

  it('shutdown waits for an in-flight deploy, refuses new work meanwhile, then closes the stream and the database', async () => {
    const { runtime, running, api } = await boot({ shutdownGraceSec: 10 });
    let release!: () => void;
    runtime.createGate = new Promise((r) => { release = r; });
    const deploy = fetch(`${api}/deploy`, { method: 'POST', body: JSON.stringify({ name: 'a', image: 'mock-app:dev' }) });
    await vi.waitFor(() => expect(runtime.calls.some((c) => c.op === 'networkExists')).toBe(true));
    const t0 = Date.now();
    let done = false;
    const shutdown = running.shutdown().then(() => { done = true; });
    await new Promise((r) => setTimeout(r, 200));
    expect(done).toBe(false);
    const late = await fetch(`${api}/deploy`, { method: 'POST', body: JSON.stringify({ name: 'b', image: 'mock-app:dev' }) })
      .then((r) => r.status, () => 'refused');
    expect([503, 'refused']).toContain(late);
    release();
    const res = await deploy;
    expect(res.status).toBe(200);
    await shutdown;
    // Not held up by the now idle keep-alive connection of the deploy (Node keeps those 5 s).
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(runtime.watchSignal?.aborted).toBe(true);
    expect(runtime.mutations()).toEqual(['create', 'start']);
  });

  it('shutdown cuts off work that outlasts the grace period', async () => {
    const { runtime, running, api } = await boot({ shutdownGraceSec: 1 });
    runtime.createGate = new Promise(() => undefined); // never finishes
    const deploy = fetch(`${api}/deploy`, { method: 'POST', body: JSON.stringify({ name: 'a', image: 'mock-app:dev' }) }).catch((e: Error) => e);
    await vi.waitFor(() => expect(runtime.calls.some((c) => c.op === 'networkExists')).toBe(true));
    const t0 = Date.now();
    await running.shutdown();
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(3_000);
    expect(runtime.watchSignal?.aborted).toBe(true);
    expect(await deploy).toBeInstanceOf(Error); // its connection was closed
  });

  it('refuses to start without the init key once the database holds instances with init', async () => {
    const key = 'ab'.repeat(32);
    const { cfg, running, api } = await boot({ initKey: key, wakeDeadlineSec: 1, shutdownGraceSec: 2 });
    const r = await fetch(`${api}/deploy`, { method: 'POST', body: JSON.stringify({ name: 'a', image: 'mock-app:dev', init: { path: '/init' } }) });
    expect(r.status).toBe(200);
    await running.shutdown();
    const again = { ...cfg, initKey: undefined };
    await expect(startSpawner(again, new ScriptedRuntime())).rejects.toThrow(/1 instance\(s\) were deployed with init.*SPAWNER_INIT_KEY_FILE/);
    await expect(startSpawner({ ...cfg, initKey: 'too-short' }, new ScriptedRuntime())).rejects.toThrow(/^SPAWNER_INIT_KEY \(or SPAWNER_INIT_KEY_FILE\): the init key must be 32 bytes/);
  });

  it('without a key, a deploy with init is refused (422 init_unavailable) and nothing is created', async () => {
    const { runtime, api } = await boot();
    const r = await fetch(`${api}/deploy`, { method: 'POST', body: JSON.stringify({ name: 'a', image: 'mock-app:dev', init: { path: '/init' } }) });
    expect(r.status).toBe(422);
    expect(((await r.json()) as { code: string }).code).toBe('init_unavailable');
    expect(runtime.mutations()).toEqual([]);
  });
});
