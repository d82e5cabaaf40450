/**
 * The bench's swarm section, on a swarm manager (SPAWNER_RUNTIME=swarm; Traefik's swarm provider).
 * `npm run bench -- --engine swarm` (one-node swarm) or `--engine cluster` (the three nodes of
 * scripts/ensure-swarm-cluster.sh) start the engine and run this inside its namespace
 * (scripts/bench/engines.ts). Directly:
 *
 *   nsenter --net=/run/netns/spawner-swarm env DOCKER_HOST=unix:///run/spawner-swarm/docker.sock \
 *     node --import ./scripts/ts-loader.mjs scripts/bench-swarm.ts [--quick] [--out DIR] \
 *     [--pidfile /run/spawner-swarm/dockerd.pid] [--refresh 1,5,15] [--load-levels 0,100,1000]
 *
 * Sections (scripts/bench/swarm.ts, swarm-load.ts): floor and cold wake in pairs (by node on
 * several nodes), a storm, the route-visible time and cold wake for each Traefik refreshSeconds,
 * and the manager's CPU under Traefik's poll as services are added. Writes DIR/latest.{json,md}.
 * Everything it creates carries the stack's labels and is removed at the end.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { docker, spawnerLogs, type Stack } from '../test/helpers/stack.js';
import { deploy, waitReachable, type Instance } from '../test/helpers/lifecycle.js';
import { startSwarmStack, swarmManager, teardownSwarmStack } from '../test/helpers/swarm.js';
import { machine } from './bench/docker.js';
import { pairs, storm, type PairsResult, type SwarmCtx } from './bench/swarm.js';
import { managerLoad } from './bench/swarm-load.js';
import { renderSwarm, type SwarmBenchResult } from './bench/report-swarm.js';

interface Opts { quick: boolean; out: string; pidfile: string; refresh: string[]; loadLevels: number[] }

function parse(argv: string[]): Opts {
  const o: Opts = { quick: false, out: 'bench-results/swarm', pidfile: '/run/spawner-swarm/dockerd.pid', refresh: [], loadLevels: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i] ?? '';
    if (a === '--quick') o.quick = true;
    else if (a === '--out') o.out = v();
    else if (a === '--pidfile') o.pidfile = v();
    else if (a === '--refresh') o.refresh = v().split(',').filter(Boolean);
    else if (a === '--load-levels') {
      const raw = v();
      o.loadLevels = raw.split(',').map(Number);
      if (o.loadLevels.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`--load-levels ${raw}; allowed: integers ≥ 0, comma-separated`);
    } else throw new Error(`unknown argument ${a}; usage: bench-swarm [--quick] [--out DIR] [--pidfile FILE] [--refresh 1,5,15] [--load-levels 0,100,1000]`);
  }
  if (!o.refresh.length) o.refresh = o.quick ? ['1'] : ['1', '5', '15'];
  if (!o.loadLevels.length) o.loadLevels = o.quick ? [0, 20] : [0, 100, 1000];
  if (o.refresh.some((r) => !/^\d+(\.\d+)?(ms|s)?$/.test(r))) throw new Error(`--refresh ${o.refresh.join(',')}; allowed: seconds or a Go duration (500ms), comma-separated`);
  return o;
}

const log = (m: string) => process.stderr.write(`[bench-swarm ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

async function instances(ctx: SwarmCtx, prefix: string, n: number): Promise<Instance[]> {
  const insts: Instance[] = [];
  for (let i = 0; i < n; i++) insts.push(await deploy(ctx.stack, ctx.token, `${prefix}${i}`));
  for (const inst of insts) await waitReachable(ctx.stack, inst, 90_000);
  return insts;
}

/** One stack: `fn` with it, then its teardown (services first), also on failure. */
const runIds: string[] = [];
async function withStack<T>(refresh: string, fn: (ctx: SwarmCtx) => Promise<T>): Promise<T> {
  let stack: Stack | undefined;
  try {
    const s = await startSwarmStack({ SPAWNER_LOG_LEVEL: 'info' }, refresh);
    stack = s.stack;
    runIds.push(s.stack.runId);
    return await fn({ stack: s.stack, token: s.token, log });
  } catch (err) {
    if (stack) log(`the spawner's log, last lines:\n${(await spawnerLogs(stack).catch(() => '')).split('\n').slice(-40).join('\n')}`);
    throw err;
  } finally {
    await teardownSwarmStack(stack, 'bench-swarm');
  }
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const why = await swarmManager(1, 'npm run bench -- --engine swarm');
  if (why) throw new Error(why);
  const t0 = Date.now();
  const loads: number[] = [];
  const sampler = setInterval(() => loads.push(os.loadavg()[0] ?? 0), 5_000);
  sampler.unref(); // a failed run must still exit
  const nodes = Number(((await docker.info()) as { Swarm?: { Nodes?: number } }).Swarm?.Nodes ?? 1);
  const runs = o.quick ? 3 : 10;
  const errors: Record<string, string> = {};
  const attempt = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    log(`section ${name}`);
    try { return await fn(); } catch (err) { errors[name] = (err as Error).message; log(`section ${name} FAILED: ${(err as Error).stack ?? String(err)}`); return undefined; }
  };
  const [main1, ...others] = o.refresh;
  const result = await withStack(main1 ?? '1', async (ctx) => {
    const traefikArgs = ((await ctx.stack.traefik.inspect()).Config.Cmd ?? []) as string[];
    const mach = await machine(docker, ctx.stack.traefikApi, traefikArgs);
    // Several instances on several nodes: Swarm spreads them, and every node gets measured.
    const insts = await instances(ctx, 'p', nodes > 1 ? 2 * (nodes - 1) : 1);
    const p = await attempt('pairs', () => pairs(ctx, insts, nodes > 1 ? Math.max(runs, 2 * insts.length) : runs));
    const st = await attempt('storm', async () => storm(ctx, (await instances(ctx, 'storm', 1))[0] as Instance, 200));
    const load = await attempt('load', () => managerLoad(ctx.stack, { pidfile: o.pidfile, levels: o.loadLevels, windowMs: o.quick ? 3_000 : 10_000, log }));
    return { mach, p, st, load };
  });
  const byRefresh: Record<string, PairsResult> = {};
  if (result.p && main1) byRefresh[main1] = result.p;
  for (const r of others) {
    const got = await attempt(`refresh ${r}`, () => withStack(r, async (ctx) => pairs(ctx, await instances(ctx, 'r', 1), o.quick ? 2 : 5)));
    if (got) byRefresh[r] = got;
  }
  clearInterval(sampler);
  const out: SwarmBenchResult = {
    schema: 'spawner-bench-swarm/1', mode: o.quick ? 'quick' : 'full', startedAt: new Date(t0).toISOString(),
    runSeconds: Math.round((Date.now() - t0) / 1000), runIds, nodes, machine: result.mach, refresh: main1 ?? '1',
    pairs: result.p, storm: result.st, load: result.load, byRefresh,
    loadAverageDuring: {
      mean: loads.length ? Math.round((loads.reduce((a, b) => a + b, 0) / loads.length) * 100) / 100 : 0,
      max: loads.length ? Math.round(Math.max(...loads) * 100) / 100 : 0,
    },
    errors,
  };
  const dir = resolve(o.out);
  mkdirSync(dir, { recursive: true });
  const md = renderSwarm(out);
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), `${md}\n`);
  process.stdout.write(`${md}\n`);
  log(`wrote ${join(dir, 'latest.json')} and latest.md (${out.runSeconds} s)`);
  if (Object.keys(errors).length) process.exitCode = 1;
}

main().catch((err) => {
  log(`bench-swarm failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
