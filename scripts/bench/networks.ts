/**
 * Section 10 (networks): what one isolated instance costs the engine, straight through the Engine
 * API and outside the spawner: `docker network create` of a /28, then connecting the two running
 * edge containers (Traefik, the spawner) to it, as a deploy does; then disconnect + remove.
 * And deploy → route visible in Traefik's API, through the spawner (per-instance networks).
 */
import { performance } from 'node:perf_hooks';
import { RUN_LABEL } from '../../test/helpers/stack.js';
import { deploy, pad, stop, type Ctx } from './common.js';
import { dist, type Dist } from './stats.js';

export interface NetworksResult {
  n: number;
  create: Dist;
  connectEdges: Dist;
  createPlusConnect: Dist;
  remove: Dist;
  deployToRoute: Dist;
}

/** A range no default pool uses, away from the spawner's own 10.208.0.0/12. */
const BENCH_RANGE = (i: number) => `10.239.${Math.floor(i / 16)}.${(i % 16) * 16}/28`;

export async function networkCost(ctx: Ctx): Promise<NetworksResult> {
  const n = ctx.quick ? 5 : 30;
  const edges = [ctx.stack.traefik.id, ctx.stack.spawner.id];
  const create: number[] = [];
  const connect: number[] = [];
  const both: number[] = [];
  const remove: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const net = await ctx.docker.createNetwork({
      Name: `${ctx.stack.network}-bench-net-${pad(i, 3)}`, CheckDuplicate: true, Labels: { [RUN_LABEL]: ctx.stack.runId },
      IPAM: { Driver: 'default', Config: [{ Subnet: BENCH_RANGE(i) }] },
    });
    const t1 = performance.now();
    // In parallel, as the spawner does.
    await Promise.all(edges.map((id) => net.connect({ Container: id })));
    const t2 = performance.now();
    await Promise.all(edges.map((id) => net.disconnect({ Container: id, Force: true })));
    await net.remove();
    const t3 = performance.now();
    create.push(t1 - t0);
    connect.push(t2 - t1);
    both.push(t2 - t0);
    remove.push(t3 - t2);
  }
  ctx.log(`  network create + 2 edge connects: p50 ${dist(both).p50} ms`);
  const route: number[] = [];
  for (let i = 0; i < (ctx.quick ? 3 : 10); i++) {
    const name = `nr-${pad(i)}`;
    const t0 = performance.now();
    await deploy(ctx, name, ctx.images.nohc);
    await routeVisible(ctx, name);
    route.push(performance.now() - t0);
    await stop(ctx, name);
  }
  return { n, create: dist(create), connectEdges: dist(connect), createPlusConnect: dist(both), remove: dist(remove), deployToRoute: dist(route) };
}

/** Polls Traefik's API (published on 127.0.0.1) until the instance's router shows up enabled. */
export async function routeVisible(ctx: Ctx, name: string): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const r = await fetch(`${ctx.stack.traefikApi}/api/http/routers/spawner-i-${name}@docker`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    if (r?.ok) return;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`route of ${name} not visible within 30 s`);
}
