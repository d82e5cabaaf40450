/**
 * The spawner loses the Docker engine while it runs, and gets it back - without restarting the
 * shared engine: the spawner reaches Docker through a unix-socket proxy owned by this test
 * (StackOptions.spawnerDockerDir), which the test takes down (connections cut, socket file gone,
 * as when dockerd restarts) and brings back. Traefik keeps the real socket.
 *
 * Checked: the event stream reconnects with capped exponential backoff (timestamps of the
 * spawner's "reconnecting" log lines), requests during the outage get a prompt error instead of
 * hanging, a change made during the outage is reflected afterwards (rescan on reconnect and live
 * inspection), that change is logged once as external_stop with detail.seenBy 'rescan', the
 * stream is live again (an outside start after the outage is recorded as external_start) and a
 * wake works end to end.
 *
 * resilience-dockerd.e2e.test.ts restarts the real daemon (CI only).
 */
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, ENGINE_SOCKET, login, spawnerLogs, startStack, type Stack } from './helpers/stack.js';
import { pollUntil } from './helpers/poll.js';
import {
  deploy, eventsOf, followToApp, fromApp, send, spawnerLogSince, statusOf, waitLogLine, waitReachable,
} from './helpers/lifecycle.js';


/** A byte-for-byte proxy of the engine's unix socket that can be cut and restored. */
class EngineProxy {
  private server?: net.Server;
  private readonly conns = new Set<net.Socket>();
  constructor(readonly dir: string) {}
  get path() { return join(this.dir, 'docker.sock'); }

  async up(): Promise<void> {
    rmSync(this.path, { force: true });
    const server = net.createServer((client) => {
      const engine = net.connect(ENGINE_SOCKET);
      for (const s of [client, engine]) {
        this.conns.add(s);
        s.on('close', () => this.conns.delete(s));
        s.on('error', () => { client.destroy(); engine.destroy(); });
      }
      client.pipe(engine);
      engine.pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.path, resolve));
    chmodSync(this.path, 0o666);
    this.server = server;
  }

  /** As a daemon restart does: every connection cut, the socket file removed. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.conns) s.destroy();
    if (server) await new Promise((r) => server.close(r));
    rmSync(this.path, { force: true });
  }
}

let stack: Stack;
let token: string;
let proxy: EngineProxy;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spawner-engine-proxy-'));
  chmodSync(dir, 0o755);
  proxy = new EngineProxy(dir);
  await proxy.up();
  // Rescans only on (re)connection here (not every 30 s by chance during the test).
  stack = await startStack({ spawnerDockerDir: dir, env: { SPAWNER_RESCAN_SEC: '3600' } });
  token = await login(stack);
});

afterAll(async () => {
  if (stack) {
    if (process.env.E2E_DEBUG) console.log(await spawnerLogs(stack));
    await stack.teardown();
  }
  await proxy?.down();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Times of the spawner's "docker event stream interrupted; reconnecting" lines since `sinceMs`. */
async function reconnectAttempts(sinceMs: number): Promise<number[]> {
  return (await spawnerLogSince(stack, sinceMs)).split('\n')
    .filter((l) => l.includes('"msg":"docker event stream interrupted; reconnecting"'))
    .map((l) => Date.parse(String((JSON.parse(l.trim()) as { time: string }).time)))
    .filter((t) => t >= sinceMs);
}

describe('the spawner loses the Docker engine and gets it back', () => {
  it('reconnects with capped backoff, answers promptly meanwhile, and works afterwards', async () => {
    const a = await deploy(stack, token, 'rc-a', { idleTimeout: 0 });
    const b = await deploy(stack, token, 'rc-b', { idleTimeout: 0 });
    await waitReachable(stack, a);
    await waitReachable(stack, b);
    expect((await api(stack, token, 'POST', `/deploy/${b.name}/stop`)).body.status).toBe('exited');

    const tDown = Date.now();
    await proxy.down();
    await pollUntil('first reconnect attempt', async () => ((await reconnectAttempts(tDown)).length >= 1 ? true : undefined));

    // During the outage: a wake cannot be served, but it is answered at once, not left hanging.
    const t1 = Date.now();
    const wake = await send(`${stack.web}/during-outage`, { cookie: b.cookie }, 30_000);
    const wakeMs = Date.now() - t1;
    const list = await api(stack, token, 'GET', '/deploy');
    console.log(`[docker-reconnect] during the outage: wake -> ${wake.status} in ${wakeMs} ms (${wake.body.slice(0, 120)}); GET /deploy -> ${list.status}`);
    expect(wake.status).toBe(503);
    expect(wake.headers['retry-after']).toBe('5');
    expect(String(wake.headers['content-type'])).toContain('application/problem+json');
    expect(wakeMs).toBeLessThan(5_000);
    expect(list.status).toBe(503);
    // A running instance is not affected: Traefik still routes to it.
    expect(fromApp(await send(`${stack.web}/still-up`, { cookie: a.cookie }), a)).toBe(true);
    // A change the spawner cannot see as an event.
    await docker.getContainer(a.id).stop({ t: 5 });

    // Long enough for the backoff to reach its cap (100 ms doubling to 5 s: 9.3 s for 7 attempts).
    await pollUntil('backoff at its cap', async () => ((await reconnectAttempts(tDown)).length >= 8 ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });
    const attempts = await reconnectAttempts(tDown);
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] ?? t));
    console.log(`[docker-reconnect] reconnect attempts every ${gaps.join(', ')} ms`);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i] ?? 0).toBeGreaterThanOrEqual((gaps[i - 1] ?? 0) - 150);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(5_000 + 1_000);
    expect(gaps.at(-1)).toBeGreaterThanOrEqual(4_500);

    const tUp = Date.now();
    await proxy.up();
    // Within one capped backoff the spawner is back: its API answers from live Docker state.
    const back = await pollUntil('deploy API sees Docker again', async () => {
      const r = await api(stack, token, 'GET', '/deploy');
      return r.status === 200 ? Date.now() - tUp : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    expect(await statusOf(stack, token, a.name)).toBe('exited'); // the stop made during the outage
    // The event stream reconnects on its next attempt (at most one capped backoff later) and rescans.
    const connected = await waitLogLine(stack, tUp, 'docker event stream connected; rescanning', {}, { timeoutMs: 10_000 });
    const streamBack = Date.parse(String(connected.time)) - tUp;
    expect(streamBack).toBeLessThan(5_000 + 1_000);
    // The outside stop made during the outage reached no event stream: the rescan after the
    // reconnection logs it (although GET /deploy above already refreshed the state cache).
    await pollUntil('the outage\'s stop logged by the rescan', async () =>
      (await eventsOf(stack, token, a.name)).find((e) => e.kind === 'external_stop'), { timeoutMs: 10_000, intervalMs: 100 });
    // The event stream is live again: an outside start is recorded as such.
    const tStart = Date.now();
    await docker.getContainer(a.id).start();
    const ext = await pollUntil('external_start recorded', async () =>
      (await eventsOf(stack, token, a.name)).find((e) => e.kind === 'external_start' && e.at >= tStart - 1_000), { timeoutMs: 15_000, intervalMs: 100 });
    expect(ext.detail?.seenBy).toBeUndefined(); // live, not from a rescan
    // Logged exactly once, marked as found by the rescan (checked after the live start, so a
    // second log of the same stop would have had time to appear).
    const stops = (await eventsOf(stack, token, a.name)).filter((e) => e.kind === 'external_stop');
    expect(stops.map((e) => [e.reason, e.detail])).toEqual([['external', { seenBy: 'rescan' }]]);
    console.log(`[docker-reconnect] engine back: API after ${back} ms, event stream after ${streamBack} ms (external_start recorded ${ext.at - tStart} ms after an outside start)`);

    // And a wake works end to end.
    const woke = await followToApp(stack, b, '/after-outage');
    expect(fromApp(woke.final, b), `${woke.final.status} ${woke.final.body.slice(0, 200)}`).toBe(true);
    expect(woke.hops).toBeGreaterThanOrEqual(1);
  });
});
