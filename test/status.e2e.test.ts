/**
 * An instance's status (wunderproxy's /status) on real Docker and Traefik: after a wake and
 * requests through Traefik answered 200 and 404, GET /deploy/:name shows the wake with its
 * duration, the counts by status class, the last request and the uptime; the spawner's /metrics
 * has the series; `spawner status` prints them. Then Traefik restarts (its counters start again
 * at 0) and the figures neither drop nor count anything twice. Last, a second instance beyond
 * SPAWNER_STATUS_METRICS_INSTANCES=1 is summed under instance="_other" on /metrics.
 *
 * The request figures come from the idle reaper's scrape of Traefik's counters
 * (SPAWNER_IDLE_CHECK_SEC=1 here); `stats.asOf` says when that last happened, so the test waits
 * for a scrape after each step instead of sleeping. The instance has idleTimeout 0: the reaper
 * never watches it for idleness, and its figures are still counted.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, login, spawnerLogs, startStack, type Stack } from './helpers/stack.js';
import { pollUntil } from './helpers/poll.js';
import { deploy, eventsOf, followToApp, fromApp, send, type Instance } from './helpers/lifecycle.js';
import { IMAGES } from './helpers/docker-env.js';

const CLI = fileURLToPath(new URL('../spawner/dist/cli.js', import.meta.url));
const run = promisify(execFile);

interface Stats {
  asOf: string | null;
  requests: number;
  responses: Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'other', number>;
  lastRequestAt: string | null;
  startedAt: string | null;
  uptimeSec: number | null;
  wakes: { count: number; failed: number; lastAt: string | null; lastMs: number | null; medianMs: number | null };
}

let stack: Stack;
let token: string;
let inst: Instance;

beforeAll(async () => {
  // One instance with series of its own on /metrics; the others are summed under _other.
  stack = await startStack({ env: { SPAWNER_IDLE_CHECK_SEC: '1', SPAWNER_STATUS_METRICS_INSTANCES: '1' } });
  token = await login(stack);
  inst = await deploy(stack, token, 'st-1', { idleTimeout: 0 });
});

afterAll(async () => {
  if (stack) {
    if (process.env.E2E_DEBUG) console.log(await spawnerLogs(stack));
    await stack.teardown();
  }
});

async function stats(name = inst.name): Promise<Stats> {
  const r = await api(stack, token, 'GET', `/deploy/${name}`);
  expect(r.status).toBe(200);
  return r.body.stats as Stats;
}

/** The figures as of a reaper scrape that began after `after` (so everything sent before is in). */
async function statsAfter(after: number, name = inst.name): Promise<Stats> {
  return pollUntil('a status scrape after the last request', async () => {
    const s = await stats(name);
    // asOf is dated when the round's sample is complete: 2 s later, its scrape surely began after `after`.
    return s.asOf && Date.parse(s.asOf) > after + 2_000 ? s : undefined;
  }, { timeoutMs: 60_000, intervalMs: 200 });
}

/** Traefik's own counter lines for the instance's service (what the figures are made from). */
async function traefikSeries(): Promise<string[]> {
  const text = await (await fetch(`${stack.traefikApi}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  return text.split('\n').filter((l) => l.startsWith('traefik_service_requests_total{') && l.includes(`service="spawner-i-${inst.name}@docker"`));
}

async function send200(n: number, to = inst): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await send(`${stack.web}/a/${i}`, { cookie: to.cookie });
    expect(fromApp(r, to)).toBe(true);
  }
}

async function metricsText(): Promise<string> {
  return (await fetch(`${stack.api}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
}

async function send404(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await send(`${stack.web}/fail/404`, { cookie: inst.cookie });
    expect(r.status).toBe(404);
    expect(r.headers['x-spawner-wake']).toBeUndefined(); // the app's 404, not the listener's
  }
}

describe('instance status through real Traefik', () => {
  let base: Stats;
  let afterWake: Stats;

  it('starts from a stopped instance whose series Traefik has dropped', async () => {
    const stop = await api(stack, token, 'POST', `/deploy/${inst.name}/stop`);
    expect(stop.status).toBe(200);
    // Traefik drops a stopped service's counters (they come back from 0 with it): what the
    // spawner's own figures must survive.
    await pollUntil('traefik dropped the instance\'s series', async () => ((await traefikSeries()).length === 0 ? true : undefined), { timeoutMs: 60_000 });
    base = await statsAfter(Date.now());
    expect(base.startedAt).toBeNull();
    expect(base.uptimeSec).toBeNull();
    expect(base.wakes.count).toBe(0); // the deploy started it, no wake did
  });

  it('after a wake and requests answered 200 and 404: the wake with its duration, counts by class, last request, uptime', async () => {
    const woke = await followToApp(stack, inst, '/after-wake');
    expect(fromApp(woke.final, inst)).toBe(true);
    expect(woke.hops).toBeGreaterThanOrEqual(1); // through the wake listener
    await send200(3);
    await send404(2);
    const sent = Date.now();
    afterWake = await statsAfter(sent);
    // 200s: the 3 above, the redirected request, and the wake gate's one probe through Traefik.
    expect(afterWake.responses['2xx'] - base.responses['2xx']).toBe(3 + 1 + 1);
    expect(afterWake.responses['4xx'] - base.responses['4xx']).toBe(2);
    for (const c of ['1xx', '3xx', '5xx', 'other'] as const) expect(afterWake.responses[c]).toBe(base.responses[c]);
    expect(afterWake.requests - base.requests).toBe(7);
    // Dated at the reaper round that saw them: after they were sent, and no later than asOf.
    const last = Date.parse(afterWake.lastRequestAt ?? '');
    expect(last).toBeGreaterThan(sent - 60_000);
    expect(last).toBeLessThanOrEqual(Date.parse(afterWake.asOf ?? ''));

    const wakes = (await eventsOf(stack, token, inst.name)).filter((e) => e.kind === 'wake' && e.detail?.started === true);
    expect(wakes).toHaveLength(1);
    expect(afterWake.wakes.count).toBe(1);
    expect(afterWake.wakes.failed).toBe(0);
    expect(afterWake.wakes.lastMs).toBe(wakes[0]?.detail?.total);
    expect(afterWake.wakes.lastMs).toBeGreaterThan(0);
    expect(afterWake.wakes.medianMs).toBe(afterWake.wakes.lastMs);

    const info = await docker.getContainer(inst.id).inspect();
    expect(Date.parse(afterWake.startedAt ?? '')).toBe(Date.parse(info.State.StartedAt));
    expect(afterWake.uptimeSec).toBeGreaterThanOrEqual(0);
    expect(afterWake.uptimeSec).toBeLessThan((Date.now() - Date.parse(info.State.StartedAt)) / 1000 + 2);
  });

  it('the list stays cheap: no stats per instance', async () => {
    const r = await api(stack, token, 'GET', '/deploy');
    expect(r.body.instances[0]).not.toHaveProperty('stats');
  });

  it('/metrics has the per-instance series', async () => {
    const text = await metricsText();
    const line = (name: string) => text.split('\n').find((l) => l.startsWith(name));
    expect(line(`spawner_instance_requests_total{instance="st-1",class="2xx"} `)).toBe(`spawner_instance_requests_total{instance="st-1",class="2xx"} ${afterWake.responses['2xx']}`);
    expect(line(`spawner_instance_requests_total{instance="st-1",class="4xx"} `)).toBe(`spawner_instance_requests_total{instance="st-1",class="4xx"} ${afterWake.responses['4xx']}`);
    expect(line('spawner_instance_wakes_total{instance="st-1"} ')).toBe('spawner_instance_wakes_total{instance="st-1"} 1');
    expect(line('spawner_instance_last_wake_seconds{instance="st-1"} ')).toBe(`spawner_instance_last_wake_seconds{instance="st-1"} ${(afterWake.wakes.lastMs ?? 0) / 1000}`);
    expect(line('spawner_instance_started_timestamp_seconds{instance="st-1"} ')).toBe(`spawner_instance_started_timestamp_seconds{instance="st-1"} ${Date.parse(afterWake.startedAt ?? '') / 1000}`);
    expect(line('spawner_instance_requests_total{instance="_other",class="2xx"} ')).toBe('spawner_instance_requests_total{instance="_other",class="2xx"} 0');
  });

  it('spawner status prints them', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'status', inst.name, '--api', stack.api, '--token', token], { timeout: 60_000 });
    const r = afterWake.responses;
    expect(stdout).toContain('status:       running');
    expect(stdout).toMatch(/^uptime: +\d+[smhd]/m);
    expect(stdout).toContain(`requests:     ${afterWake.requests} (2xx ${r['2xx']}, 3xx ${r['3xx']}, 4xx ${r['4xx']}, 5xx ${r['5xx']})`);
    expect(stdout).toContain(`last request: ${afterWake.lastRequestAt}`);
    expect(stdout).toMatch(new RegExp(`^wakes: +1, last ${Math.round(afterWake.wakes.lastMs ?? 0)} ms at .+, median `, 'm'));
  });

  it('a Traefik restart resets its counters; our figures keep what they had and count only what is new', async () => {
    const startOf = async () => {
      const text = await (await fetch(`${stack.traefikApi}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
      return /^process_start_time_seconds (\S+)$/m.exec(text)?.[1];
    };
    const started = await startOf();
    await stack.stopTraefik();
    await stack.startTraefik();
    // What tells the spawner that every counter restarted (request-counts.ts), not only those that went down.
    expect(started).toBeDefined();
    expect(await startOf()).not.toBe(started);
    // The spawner reconnects Traefik to the instance's network; then it routes again.
    await pollUntil('st-1 reachable after the traefik restart', async () => {
      const r = await send(`${stack.web}/probe`, { cookie: inst.cookie }, 5_000).catch(() => undefined);
      return r && fromApp(r, inst) ? true : undefined;
    }, { timeoutMs: 90_000, intervalMs: 250 });
    const before = await statsAfter(Date.now());
    expect(before.requests).toBeGreaterThanOrEqual(afterWake.requests); // never down
    await send200(2);
    await send404(1);
    const after = await statsAfter(Date.now());
    expect(after.responses['2xx'] - before.responses['2xx']).toBe(2);
    expect(after.responses['4xx'] - before.responses['4xx']).toBe(1);
    expect(after.wakes.count).toBe(1);
  });

  it('/metrics stays bounded: a second instance beyond SPAWNER_STATUS_METRICS_INSTANCES=1 is summed under _other', async () => {
    const r = await api(stack, token, 'POST', '/deploy?wait=true', { name: 'st-2', image: IMAGES.mockApp, envs: { IDLE: '0' }, idleTimeout: 0 });
    expect(r.body.ready).toBe(true);
    const second: Instance = { name: 'st-2', id: String(r.body.id), hostname: 'st-2', cookie: `instance=${String(r.body.cookie.value)}` };
    await send200(4, second);
    const own = await statsAfter(Date.now(), 'st-2');
    expect(own.responses['2xx']).toBe(4 + 1); // and the gate's probe of ?wait=true
    expect(own.wakes.count).toBe(0); // the gate found it running: not a wake of the container
    const text = await metricsText();
    expect(text).not.toContain('instance="st-2"');
    expect(text).toContain(`spawner_instance_requests_total{instance="_other",class="2xx"} ${own.responses['2xx']}`);
    expect(text).toContain('spawner_instance_status_aggregated 1');
    expect(text).toContain('spawner_instance_requests_total{instance="st-1",class="2xx"}');
  });
});
