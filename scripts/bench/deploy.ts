/**
 * Section 6 (deploy latency: one after another, then N at a time) and section 7 (footprint: the
 * spawner's memory idle and with many registered instances, and GET /deploy latency there).
 *
 * Registering 1,000 *running* mock apps would need ~1,000 Node processes on a 2-core machine, so
 * every instance is deployed for real (create + start through the API, exactly as a user would)
 * and stopped by the API as soon as it answers, a few in flight at a time: the spawner then holds 1,000
 * rows and Docker 1,000 stopped containers, which is the realistic steady state (most instances
 * asleep). The registration time and rate are reported.
 */
import { performance } from 'node:perf_hooks';
import { api } from '../../test/helpers/stack.js';
import { containerMemory, type Memory } from './docker.js';
import { appUp, checkDeadline, deploy, pad, pool, stop, type Ctx, type Inst } from './common.js';
import { dist, round, type Dist } from './stats.js';

export interface DeployResult {
  image: string;
  sequential: { perDeploy: Dist; wallMs: number };
  parallel: { concurrency: number; perDeploy: Dist; wallMs: number; deploysPerSec: number };
  stopAfter: { perStop: Dist };
  /** GET /deploy once the first 10 sequential deploys are registered (running). */
  getDeployAt10?: Dist & { instancesListed: number };
}

export async function deployLatency(ctx: Ctx): Promise<DeployResult> {
  const image = ctx.images.hc;
  const seqNames = Array.from({ length: ctx.sizes.deploySequential }, (_, i) => `d-s-${pad(i + 1)}`);
  const parNames = Array.from({ length: ctx.sizes.deployParallel }, (_, i) => `d-p-${pad(i + 1)}`);
  const seq: number[] = [];
  const insts: Inst[] = [];
  let at10: (Dist & { instancesListed: number }) | undefined;
  const t0 = performance.now();
  for (const n of seqNames) {
    checkDeadline(ctx, 'sequential deploys');
    const d = await deploy(ctx, n, image);
    insts.push(d);
    seq.push(d.ms);
    if (insts.length === 10) at10 = await listLatency(ctx);
  }
  const seqWall = performance.now() - t0;
  ctx.log(`  ${seq.length} sequential deploys in ${round(seqWall)} ms`);
  const t1 = performance.now();
  const par = await pool(parNames, ctx.sizes.deployConcurrency, async (n) => {
    const d = await deploy(ctx, n, image);
    insts.push(d);
    return d.ms;
  });
  const parWall = performance.now() - t1;
  ctx.log(`  ${par.length} deploys ${ctx.sizes.deployConcurrency} at a time in ${round(parWall)} ms`);
  // They join the registered population of section 7, asleep.
  const stops = await pool(insts, ctx.sizes.deployConcurrency, async (i) => {
    await appUp(ctx, i);
    return stop(ctx, i.name);
  });
  return {
    image,
    sequential: { perDeploy: dist(seq), wallMs: Math.round(seqWall) },
    parallel: {
      concurrency: ctx.sizes.deployConcurrency, perDeploy: dist(par), wallMs: Math.round(parWall),
      deploysPerSec: round(par.length / (parWall / 1000), 2),
    },
    stopAfter: { perStop: dist(stops) },
    ...(at10 ? { getDeployAt10: at10 } : {}),
  };
}

export async function listLatency(ctx: Ctx): Promise<Dist & { instancesListed: number }> {
  await listOnce(ctx); // warm-up, not counted
  const ms: number[] = [];
  let listed = 0;
  for (let i = 0; i < ctx.sizes.listRuns; i++) {
    const r = await listOnce(ctx);
    ms.push(r.ms);
    listed = r.count;
  }
  return { ...dist(ms), instancesListed: listed };
}

export interface FootprintResult {
  idle: Memory;
  registration: Registration;
  withInstances: Memory;
  afterList: Memory;
  getDeploy: Dist & { instancesListed: number };
  /** Traefik with every instance network attached: memory, and CPU at rest over 5 s. */
  /**
   * cpuPercentRightAfter: the first 5 s after the section's work; cpuPercentAtRest: once settled
   * (below 5 % of a core, or the last of 12 windows, 2 in --quick), settleSec after the first window ended.
   */
  traefik: Memory & { networks: number; cpuPercentRightAfter: number; cpuPercentAtRest: number; settleSec: number };
  /** The same Docker query the spawner makes for GET /deploy, timed from the host. */
  dockerListFloor: Dist;
}

const REGISTER_CONCURRENCY = 8;
const MAX_FAILURES = 20;

export async function listOnce(ctx: Ctx): Promise<{ ms: number; count: number }> {
  const t0 = performance.now();
  const r = await api(ctx.stack, ctx.token, 'GET', '/deploy');
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`GET /deploy: HTTP ${r.status}`);
  return { ms, count: (r.body.instances as unknown[]).length };
}

/** Traefik's CPU use over `ms`, in % of one core, from two cgroup readings. */
export async function cpuPercent(ctx: Ctx, ms: number): Promise<number> {
  const read = async () => ((await ctx.stack.traefik.stats({ stream: false })) as unknown as { cpu_stats: { cpu_usage: { total_usage: number } } }).cpu_stats.cpu_usage.total_usage;
  const a = await read();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const b = await read();
  return round(((b - a) / 1e6 / (performance.now() - t0)) * 100, 2);
}

export interface Registration {
  target: number;
  registered: number;
  added: number;
  concurrency: number;
  wallSec: number;
  perInstanceDeployPlusStop: Dist;
  failures: number;
}

/**
 * Brings the registered population up to `target` (names `<prefix>-0001`…): each one a real
 * deploy, then an API stop once the app answers. `registered` is what GET /deploy listed before.
 */
export async function register(ctx: Ctx, target: number, prefix = 'r'): Promise<Registration> {
  const have = (await listOnce(ctx)).count;
  const need = Math.max(0, target - have);
  const names = Array.from({ length: need }, (_, i) => `${prefix}-${pad(have + i + 1, 4)}`);
  const per: number[] = [];
  let failures = 0;
  const t0 = performance.now();
  await pool(names, REGISTER_CONCURRENCY, async (n, i) => {
    if (failures > MAX_FAILURES) return;
    checkDeadline(ctx, 'registering instances');
    const s = performance.now();
    try {
      const inst = await deploy(ctx, n, ctx.images.nohc);
      await appUp(ctx, inst);
      await stop(ctx, n);
      per.push(performance.now() - s);
    } catch (err) {
      failures++;
      ctx.log(`  register ${n}: ${(err as Error).message}`);
    }
    if ((i + 1) % 100 === 0) ctx.log(`  registered ${have + i + 1}/${target} after ${round((performance.now() - t0) / 1000)} s`);
  });
  if (failures > MAX_FAILURES) throw new Error(`registration aborted after ${failures} failures`);
  return {
    target, registered: have, added: per.length, concurrency: REGISTER_CONCURRENCY,
    wallSec: round((performance.now() - t0) / 1000), perInstanceDeployPlusStop: dist(per), failures,
  };
}

/**
 * Traefik with every instance network attached: memory, and CPU over 5 s windows until it settles.
 * Right after a burst of deploys and stops Traefik is still working through their events (each
 * one re-lists the running containers), so the first window is not "at rest".
 */
export async function traefikFootprint(ctx: Ctx): Promise<FootprintResult['traefik']> {
  const networks = Object.keys((await ctx.stack.traefik.inspect()).NetworkSettings.Networks).length;
  const first = await cpuPercent(ctx, 5_000);
  const t0 = performance.now();
  let last = first;
  for (let i = 1; i < (ctx.quick ? 2 : 12) && last >= 5; i++) last = await cpuPercent(ctx, 5_000);
  return {
    ...(await containerMemory(ctx.stack.traefik)), networks,
    cpuPercentRightAfter: first, cpuPercentAtRest: last, settleSec: round((performance.now() - t0) / 1000),
  };
}

export async function footprint(ctx: Ctx, idle: Memory): Promise<FootprintResult> {
  const registration = await register(ctx, ctx.sizes.registered);
  const withInstances = await containerMemory(ctx.stack.spawner);
  const getDeploy = await listLatency(ctx);
  const floor: number[] = [];
  for (let i = 0; i < ctx.sizes.listRuns; i++) {
    const s = performance.now();
    await ctx.docker.listContainers({ all: true, filters: { label: [`spawner.id=${ctx.stack.spawnerId}`] } });
    floor.push(performance.now() - s);
  }
  const afterList = await containerMemory(ctx.stack.spawner);
  const traefik = await traefikFootprint(ctx);
  ctx.log(`  traefik on ${traefik.networks} networks: RSS ${traefik.rssMiB} MiB, CPU at rest ${traefik.cpuPercentAtRest} %`);
  return {
    traefik,
    idle,
    registration: { ...registration, registered: getDeploy.instancesListed },
    withInstances,
    afterList,
    getDeploy,
    dockerListFloor: dist(floor),
  };
}
