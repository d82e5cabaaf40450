/**
 * Section 13 (scale): what per-instance networks cost as the population grows. At each level
 * (10, 100, 1,000 registered instances, each with its own network that Traefik and the spawner
 * join) the same measurements: deploy one after another and 10 at a time, POST /deploy → router
 * visible in Traefik's API, a cold wake's overhead over its floor (same pairs as section 2),
 * Traefik's memory and CPU at rest, the spawner's memory, and GET /deploy.
 */
import { performance } from 'node:perf_hooks';
import { containerMemory, type Memory } from './docker.js';
import { appUp, deploy, pad, pool, stop, type Ctx, type Inst } from './common.js';
import { listLatency, register, traefikFootprint, type FootprintResult, type Registration } from './deploy.js';
import { routeVisible } from './networks.js';
import { dist, round, type Dist } from './stats.js';
import { floorAndWake } from './wake.js';

export interface ScaleLevel {
  instances: number;
  registration: Registration;
  deploySequential: Dist;
  deployConcurrent: { concurrency: number; perDeploy: Dist; deploysPerSec: number };
  deployToRoute: Dist;
  wake: { floorToApp200: Dist; wake: Dist; overheadVsApp200: number; overheadVsReachable: number; errors: number };
  traefik: FootprintResult['traefik'];
  spawner: Memory;
  getDeploy: Dist & { instancesListed: number };
}

export async function scale(ctx: Ctx): Promise<ScaleLevel[]> {
  const levels = ctx.sizes.scaleLevels;
  const out: ScaleLevel[] = [];
  for (const level of levels) {
    ctx.log(`  scale: registering up to ${level} instances`);
    // The level is the population when its measurements start; they add seqN + concN + 1 more.
    const seqN = ctx.quick ? 2 : 5;
    const concN = ctx.quick ? 2 : 10;
    const registration = await register(ctx, level, `sc${level}`);
    const seq: number[] = [];
    const route: number[] = [];
    const made: Inst[] = [];
    for (let i = 0; i < seqN; i++) {
      const name = `sc${level}-s-${pad(i)}`;
      const t0 = performance.now();
      const d = await deploy(ctx, name, ctx.images.nohc);
      seq.push(d.ms);
      await routeVisible(ctx, name);
      route.push(performance.now() - t0);
      made.push(d);
    }
    const per: number[] = [];
    const t1 = performance.now();
    await pool(Array.from({ length: concN }, (_, i) => `sc${level}-c-${pad(i)}`), 10, async (n) => {
      const d = await deploy(ctx, n, ctx.images.nohc);
      per.push(d.ms);
      made.push(d);
    });
    const concMs = performance.now() - t1;
    await pool(made, 8, async (i) => { await appUp(ctx, i); await stop(ctx, i.name); });
    const w = await floorAndWake({ ...ctx, sizes: { ...ctx.sizes, wakeRuns: ctx.quick ? 2 : 6 } }, 'nohc', `sc${level}-w`);
    const lvl: ScaleLevel = {
      instances: registration.registered + registration.added,
      registration,
      deploySequential: dist(seq),
      deployConcurrent: { concurrency: 10, perDeploy: dist(per), deploysPerSec: round(concN / (concMs / 1000), 2) },
      deployToRoute: dist(route),
      wake: {
        floorToApp200: w.floor.toApp200, wake: w.wake.total, errors: w.wake.errors,
        overheadVsApp200: w.overhead.vsApp200.p50, overheadVsReachable: w.overhead.vsReachable.p50,
      },
      traefik: await traefikFootprint(ctx),
      spawner: await containerMemory(ctx.stack.spawner),
      getDeploy: await listLatency(ctx),
    };
    ctx.log(`  scale ${lvl.getDeploy.instancesListed}: deploy p50 ${lvl.deploySequential.p50} ms, wake overhead ${lvl.wake.overheadVsApp200} ms, `
      + `traefik ${lvl.traefik.rssMiB} MiB / ${lvl.traefik.cpuPercentRightAfter} % → ${lvl.traefik.cpuPercentAtRest} % after ${lvl.traefik.settleSec} s, spawner ${lvl.spawner.rssMiB} MiB, GET /deploy ${lvl.getDeploy.p50} ms`);
    out.push(lvl);
  }
  return out;
}
