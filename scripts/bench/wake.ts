/**
 * Sections 1 and 2: the floor (docker start → first 200 from the app on its container address,
 * and → Docker `healthy` when the image has a HEALTHCHECK) and the cold wake through Traefik,
 * measured alternately on the same instance so that each wake has a floor from the same minutes.
 * The order inside a pair alternates too (floor first, then wake first), to cancel drift.
 */
import { performance } from 'node:perf_hooks';
import { Agent } from 'undici';
import { firstOk, traefikRoute, wakeClient, type Phases, type WakeResult } from './client.js';
import { appUp, checkDeadline, deploy, stop, type Ctx, type Inst } from './common.js';
import { instanceNetwork } from '../../test/helpers/stack.js';
import { dist, median, round, type Dist } from './stats.js';

export interface FloorRun {
  toApp200: number;
  toHealthy?: number;
  /** docker start → Traefik's API shows the instance's router and a server at its new address. */
  toRoute: number;
  dockerStartCall: number;
}

/** Traefik's view, read from its API on 127.0.0.1 (same check as the spawner's gate step 2). */
async function routeUp(ctx: Ctx, name: string, ip: string, deadlineMs: number): Promise<number> {
  const end = performance.now() + deadlineMs;
  const want = `http://${ip}:9000`;
  while (performance.now() < end) {
    try {
      const route = await traefikRoute(ctx.stack.traefikApi, name, 'docker');
      if (route.enabled && route.servers.includes(want)) return performance.now();
    } catch { /* not yet */ }
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`Traefik had no route to ${name} at ${want} within ${deadlineMs} ms`);
}

export interface FloorWakeResult {
  image: string;
  healthcheck: boolean;
  /** Limits asked for in the deploy (none: the spawner's defaults). */
  limits?: { cpus?: number };
  /** The CPU limit the instance's container got (HostConfig.NanoCpus / 1e9; 0 = none). */
  cpus: number;
  inst: Inst;
  floor: { toApp200: Dist; toHealthy?: Dist; toRoute: Dist; dockerStartCall: Dist };
  wake: {
    total: Dist;
    phases: Record<keyof Phases, Dist>;
    errors: number;
    errorSamples: string[];
    hops: Dist;
  };
  overhead: {
    /** Median over runs of (wake end-to-end − floor to the app's 200), same run pair. */
    vsApp200: { p50: number; unit: string; n: number };
    /** HC only: median of (wake − floor to Docker healthy). */
    vsHealthy?: { p50: number; unit: string; n: number };
    /** Median of (wake − the moment the app was reachable through Traefik: max(app 200, healthy, route)). */
    vsReachable: { p50: number; unit: string; n: number };
  };
  /** Raw per-run data (ms), in run order. */
  runs: Array<{ floor: FloorRun; wake: { ok: boolean; ms: number; phases?: Phases; error?: string } }>;
}

async function floorOnce(ctx: Ctx, inst: Inst, hc: boolean): Promise<FloorRun> {
  const c = ctx.docker.getContainer(inst.id);
  const t0 = performance.now();
  await c.start();
  const tStarted = performance.now();
  const info = await c.inspect();
  const net = instanceNetwork(ctx.stack, inst.name);
  const ip = info.NetworkSettings.Networks[net]?.IPAddress;
  if (!ip) throw new Error(`${inst.name} has no address on ${net}`);
  const [tOk, tRoute] = await Promise.all([
    firstOk(`http://${ip}:9000/`, { everyMs: 5, deadlineMs: 30_000 }),
    routeUp(ctx, inst.name, ip, 30_000),
  ]);
  const run: FloorRun = { toApp200: tOk - t0, toRoute: tRoute - t0, dockerStartCall: tStarted - t0 };
  if (hc) run.toHealthy = (await ctx.events.wait(inst.id, 'health_status: healthy', t0, 30_000)) - t0;
  return run;
}

async function wakeOnce(ctx: Ctx, inst: Inst, i: number): Promise<WakeResult> {
  // A fresh connection per run, like a new curl process.
  const agent = new Agent({ connections: 4 });
  try {
    const r = await wakeClient(`${ctx.stack.web}/bench/wake?run=${i}`, `instance=${inst.cookie}`, { dispatcher: agent });
    if (r.ok && r.appHost !== inst.name) return { ...r, ok: false, error: `answered by ${r.appHost}` };
    if (r.ok && r.firstStatus !== 307) return { ...r, ok: false, error: `first answer ${r.firstStatus}, not the wake listener's 307` };
    return r;
  } finally {
    await agent.close();
  }
}

export async function floorAndWake(ctx: Ctx, variant: 'hc' | 'nohc', name = `w-${variant}`, limits?: { cpus?: number }): Promise<FloorWakeResult> {
  const hc = variant === 'hc';
  const image = hc ? ctx.images.hc : ctx.images.nohc;
  const inst = await deploy(ctx, name, image, limits);
  const cpus = ((await appUp(ctx, inst)).HostConfig.NanoCpus ?? 0) / 1e9;
  const floors: FloorRun[] = [];
  const wakes: WakeResult[] = [];
  const pairs: Array<{ floor: FloorRun; wake: WakeResult }> = [];
  for (let i = 0; i < ctx.sizes.wakeRuns; i++) {
    checkDeadline(ctx, `cold wake ${variant}`);
    let f: FloorRun | undefined;
    let w: WakeResult | undefined;
    for (const step of i % 2 === 0 ? ['floor', 'wake'] : ['wake', 'floor']) {
      await stop(ctx, inst.name);
      if (step === 'floor') f = await floorOnce(ctx, inst, hc);
      else w = await wakeOnce(ctx, inst, i);
    }
    floors.push(f as FloorRun);
    wakes.push(w as WakeResult);
    if (w?.ok) pairs.push({ floor: f as FloorRun, wake: w });
    ctx.log(`  ${name} run ${i + 1}/${ctx.sizes.wakeRuns}: floor ${round(f?.toApp200 ?? NaN)} ms (route ${round(f?.toRoute ?? NaN)} ms)`
      + `${hc ? ` (healthy ${round(f?.toHealthy ?? NaN)} ms)` : ''}, wake ${round(w?.ms ?? NaN)} ms ${w?.ok ? '' : `ERROR ${w?.error}`}`);
  }
  await stop(ctx, inst.name);
  const ok = wakes.filter((w) => w.ok);
  const phase = (k: keyof Phases) => dist(ok.map((w) => w.phases?.[k]).filter((v): v is number => typeof v === 'number'));
  const result: FloorWakeResult = {
    image, healthcheck: hc, inst, cpus, ...(limits ? { limits } : {}),
    floor: {
      toApp200: dist(floors.map((f) => f.toApp200)),
      toRoute: dist(floors.map((f) => f.toRoute)),
      dockerStartCall: dist(floors.map((f) => f.dockerStartCall)),
    },
    wake: {
      total: dist(ok.map((w) => w.ms)),
      phases: { start: phase('start'), health: phase('health'), route: phase('route'), probe: phase('probe'), total: phase('total') },
      errors: wakes.length - ok.length,
      errorSamples: wakes.filter((w) => !w.ok).slice(0, 5).map((w) => w.error ?? '?'),
      hops: dist(ok.map((w) => w.hops), 'requests'),
    },
    overhead: {
      vsApp200: { p50: round(median(pairs.map((p) => p.wake.ms - p.floor.toApp200))), unit: 'ms', n: pairs.length },
      vsReachable: { p50: NaN, unit: 'ms', n: 0 },
    },
    runs: [],
  };
  result.overhead.vsReachable = {
    p50: round(median(pairs.map((p) => p.wake.ms - Math.max(p.floor.toApp200, p.floor.toRoute, p.floor.toHealthy ?? 0)))),
    unit: 'ms', n: pairs.length,
  };
  result.runs = floors.map((f, i) => {
    const w = wakes[i] as WakeResult;
    return { floor: f, wake: { ok: w.ok, ms: round(w.ms), phases: w.phases, error: w.error } };
  });
  if (hc) {
    result.floor.toHealthy = dist(floors.map((f) => f.toHealthy ?? NaN).filter(Number.isFinite));
    result.overhead.vsHealthy = {
      p50: round(median(pairs.map((p) => p.wake.ms - (p.floor.toHealthy ?? NaN)).filter(Number.isFinite))), unit: 'ms', n: pairs.length,
    };
  }
  return result;
}
