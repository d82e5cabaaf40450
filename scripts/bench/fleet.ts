/**
 * Section 12 (fleet throughput): the spawner's fleet rates as ratios to the engine's own floor,
 * measured in the same run for the same image straight through the Engine API.
 *
 * - Floor: create+start, and start alone, of 16 mock-app containers on one bench network, at
 *   concurrency 1, 2, 4, 8 and 16 (quick: 4 at 1 and 4); the best rate of each is the floor. A
 *   start is also timed to the app's first 200 on its address (the wakes below end at the app, so
 *   that is the fairer comparison; both are reported, the target uses the strict Engine-API one).
 *   And create+start with a deploy's network work: its own network, Traefik and the spawner
 *   joined to it, then create and start on it (what isolation costs the engine, per instance).
 * - Concurrent deploys through the API (each one a network, create, edge connects, start, gate),
 *   at 10 at a time and at the floor's best concurrency: deploys/s ÷ create+start floor.
 * - Fan-out wake of 50 (quick: 5) stopped instances at once, every client following the 307 (and
 *   any 503 + Retry-After) to its own app: instances/s ÷ start floor.
 */
import { performance } from 'node:perf_hooks';
import type Docker from 'dockerode';
import { RUN_LABEL } from '../../test/helpers/stack.js';
import { firstOk } from './client.js';
import { appUp, deploy, pad, pool, stop, type Ctx } from './common.js';
import { fanout, type FanoutResult } from './storm.js';
import { dist, round, type Dist } from './stats.js';

export interface RateAt { concurrency: number; n: number; wallMs: number; perSec: number }

export interface FleetResult {
  image: string;
  floor: {
    createStart: RateAt[];
    start: RateAt[];
    startToApp200: RateAt[];
    /** Network create + both edges joined + create + start: a deploy's engine work. */
    createStartIsolated: RateAt[];
    best: { createStart: RateAt; start: RateAt; startToApp200: RateAt; createStartIsolated: RateAt };
  };
  deploys: Array<RateAt & { perDeploy: Dist; ratioToCreateStartFloor: number; ratioToIsolatedFloor: number }>;
  fanout: FanoutResult & { perSec: number; ratioToStartFloor: number; ratioToStartToApp200Floor: number };
}


const rate = (concurrency: number, n: number, ms: number): RateAt => ({ concurrency, n, wallMs: Math.round(ms), perSec: round(n / (ms / 1000), 2) });
const best = (xs: RateAt[]): RateAt => xs.reduce((a, b) => (b.perSec > a.perSec ? b : a));

async function timed<T>(items: readonly T[], c: number, fn: (x: T) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await pool(items, c, fn);
  return performance.now() - t0;
}

async function killAll(cs: Docker.Container[]): Promise<void> {
  await pool(cs, 8, async (c) => { await c.kill().catch(() => undefined); await c.wait().catch(() => undefined); });
}

async function address(c: Docker.Container, net: string): Promise<string> {
  const ip = (await c.inspect()).NetworkSettings.Networks[net]?.IPAddress;
  if (!ip) throw new Error(`floor container ${c.id.slice(0, 12)} has no address on ${net}`);
  return ip;
}

/** The engine's own rates for the image, outside the spawner. */
async function floor(ctx: Ctx, n: number): Promise<FleetResult['floor']> {
  const net = `${ctx.stack.network}-bench-fleet`;
  await ctx.docker.createNetwork({ Name: net, CheckDuplicate: true, Labels: { [RUN_LABEL]: ctx.stack.runId } });
  const createStart: RateAt[] = [];
  const start: RateAt[] = [];
  const toApp: RateAt[] = [];
  const isolated: RateAt[] = [];
  for (const c of ctx.quick ? [1, 4] : [1, 2, 4, 8, 16]) {
    const names = Array.from({ length: n }, (_, i) => `${ctx.stack.network}-floor-c${c}-${pad(i)}`);
    const made: Docker.Container[] = [];
    createStart.push(rate(c, n, await timed(names, c, async (name) => {
      const k = await floorContainer(ctx, name, net);
      made.push(k);
      await k.start();
    })));
    await killAll(made);
    start.push(rate(c, n, await timed(made, c, (k) => k.start())));
    await killAll(made);
    toApp.push(rate(c, n, await timed(made, c, async (k) => {
      await k.start();
      await firstOk(`http://${await address(k, net)}:9000/`, { everyMs: 5, deadlineMs: 30_000 });
    })));
    await pool(made, 8, (k) => k.remove({ force: true }));
    isolated.push(rate(c, n, await timed(names.map((name, i) => ({ name, i: isolated.length * n + i })), c, (x) => isolatedCreateStart(ctx, x.name, x.i))));
    ctx.log(`  floor at ${c}: create+start ${createStart.at(-1)?.perSec}/s, start ${start.at(-1)?.perSec}/s, start → app 200 ${toApp.at(-1)?.perSec}/s, `
      + `isolated create+start ${isolated.at(-1)?.perSec}/s`);
  }
  await removeIsolated(ctx);
  return {
    createStart, start, startToApp200: toApp, createStartIsolated: isolated,
    best: { createStart: best(createStart), start: best(start), startToApp200: best(toApp), createStartIsolated: best(isolated) },
  };
}

/** A plain mock-app container of the run (no spawner labels, no hardening) on `network`. */
function floorContainer(ctx: Ctx, name: string, network: string): Promise<Docker.Container> {
  return ctx.docker.createContainer({
    name, Image: ctx.images.nohc, Env: ['IDLE=0'], Labels: { [RUN_LABEL]: ctx.stack.runId },
    HostConfig: { NetworkMode: network },
  });
}

const edges = (ctx: Ctx) => [ctx.stack.traefik.id, ctx.stack.spawner.id];

/** A range no default pool uses, beside section 10's 10.239.0.0/16. */
const FLOOR_RANGE = (i: number) => `10.238.${Math.floor(i / 16)}.${(i % 16) * 16}/28`;

/** What a deploy asks of the engine, without the spawner: its own network, both edges joined, create, start. */
async function isolatedCreateStart(ctx: Ctx, name: string, i: number): Promise<void> {
  const net = await ctx.docker.createNetwork({
    Name: `${name}-iso`, CheckDuplicate: true, Labels: { [RUN_LABEL]: ctx.stack.runId },
    IPAM: { Driver: 'default', Config: [{ Subnet: FLOOR_RANGE(i) }] },
  });
  await Promise.all(edges(ctx).map((id) => net.connect({ Container: id })));
  await (await floorContainer(ctx, `${name}-iso`, `${name}-iso`)).start();
}

/**
 * Removed before the deploys and the fan-out are measured: left in place (the run's teardown
 * would get them), they would be ~80 more networks on Traefik and in the engine's rules.
 */
async function removeIsolated(ctx: Ctx): Promise<void> {
  const filters = { label: [`${RUN_LABEL}=${ctx.stack.runId}`] };
  const cs = (await ctx.docker.listContainers({ all: true, filters })).filter((c) => (c.Names[0] ?? '').endsWith('-iso'));
  await pool(cs, 8, (c) => ctx.docker.getContainer(c.Id).remove({ force: true }));
  const nets = (await ctx.docker.listNetworks({ filters })).filter((n) => n.Name.endsWith('-iso'));
  await pool(nets, 8, async (n) => {
    const net = ctx.docker.getNetwork(n.Id);
    await Promise.all(edges(ctx).map((id) => net.disconnect({ Container: id, Force: true }).catch(() => undefined)));
    await net.remove();
  });
}

export async function fleet(ctx: Ctx): Promise<FleetResult> {
  const q = ctx.quick;
  const fl = await floor(ctx, q ? 4 : 16);
  const deploys: FleetResult['deploys'] = [];
  for (const c of [...new Set([10, fl.best.createStart.concurrency])]) {
    const names = Array.from({ length: q ? 5 : 30 }, (_, i) => `fl-d${c}-${pad(i)}`);
    const per: number[] = [];
    const made: Array<Awaited<ReturnType<typeof deploy>>> = [];
    const ms = await timed(names, c, async (n) => { const d = await deploy(ctx, n, ctx.images.nohc); per.push(d.ms); made.push(d); });
    const r = rate(c, names.length, ms);
    deploys.push({
      ...r, perDeploy: dist(per), ratioToCreateStartFloor: round(r.perSec / fl.best.createStart.perSec, 2),
      ratioToIsolatedFloor: round(r.perSec / fl.best.createStartIsolated.perSec, 2),
    });
    ctx.log(`  deploys ${c} at a time: ${r.perSec}/s (floor ${fl.best.createStart.perSec}/s)`);
    await pool(made, 8, async (i) => { await appUp(ctx, i); await stop(ctx, i.name); });
  }
  const f = await fanout({ ...ctx, sizes: { ...ctx.sizes, fanout: q ? 5 : 50 } }, 'fl-w');
  const perSec = round(f.finalSuccess / (f.wallMs / 1000), 2);
  ctx.log(`  fan-out wake of ${f.instances}: ${perSec}/s (start floor ${fl.best.start.perSec}/s)`);
  return {
    image: ctx.images.nohc,
    floor: fl,
    deploys,
    fanout: {
      ...f, perSec,
      ratioToStartFloor: round(perSec / fl.best.start.perSec, 2),
      ratioToStartToApp200Floor: round(perSec / fl.best.startToApp200.perSec, 2),
    },
  };
}
