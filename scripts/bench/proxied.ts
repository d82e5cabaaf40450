/**
 * Section 9: the cost of the recovery middleware on traffic to a RUNNING instance. Every instance
 * router carries an errors middleware (502/504 -> the spawner); this measures requests through
 * Traefik to a spawner-deployed instance against a twin: the same image on the same network,
 * routed by a router of the same shape (a cookie HeaderRegexp rule) but without the middleware.
 * Rounds alternate A/B so drift on a shared machine hits both alike; medians of the rounds, and
 * the ratio. Load comes from `wrk` (else loadgen.ts) on 127.0.0.1 only.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { RUN_LABEL } from '../../test/helpers/stack.js';
import { cookieRule, TRAEFIK_DOCKER_NETWORK, TRAEFIK_ENABLE, traefikKey } from '../../spawner/src/traefik/labels.js';
import { run } from './docker.js';
import { appUp, deploy, sleep, type Ctx } from './common.js';
import { parseWrk } from './hotpath.js';
import { median } from './stats.js';

export interface ProxiedRun { requestsPerSec: number; p50: number; p99: number; errors: number }
export interface ProxiedResult {
  tool: string;
  connections: number;
  secondsPerRound: number;
  withMiddleware: ProxiedRun[];
  withoutMiddleware: ProxiedRun[];
  median: { withMiddleware: ProxiedRun; withoutMiddleware: ProxiedRun };
  /** with / without, requests per second (1 = no cost). */
  throughputRatio: number;
}

const CONNECTIONS = 32;
/** The twin's router and service (no spawner-i- prefix: nothing of the spawner's). */
const TWIN = 'bench-twin';

export async function proxied(ctx: Ctx): Promise<ProxiedResult> {
  const inst = await deploy(ctx, 'px', ctx.images.nohc);
  await appUp(ctx, inst);
  const twinValue = `px-twin.${randomBytes(16).toString('hex')}`;
  // Same limits and hardening as the spawner gave the instance (0.5 CPU by default!), or the
  // comparison measures the CPU cap, not the middleware.
  const hc = (await ctx.docker.getContainer(inst.id).inspect()).HostConfig;
  const twin = await ctx.docker.createContainer({
    name: `${ctx.stack.network}-px-twin`,
    Image: ctx.images.nohc,
    Env: ['IDLE=0'],
    Labels: {
      [RUN_LABEL]: ctx.stack.runId,
      // Traefik's constraint of this stack; not origin=spawner, so the spawner never sees it.
      'spawner.id': ctx.stack.spawnerId,
      [TRAEFIK_ENABLE]: 'true',
      [TRAEFIK_DOCKER_NETWORK]: ctx.stack.network,
      [traefikKey('routers', TWIN, 'rule')]: cookieRule('instance', twinValue),
      [traefikKey('routers', TWIN, 'entrypoints')]: 'web',
      [traefikKey('routers', TWIN, 'service')]: TWIN,
      [traefikKey('services', TWIN, 'loadbalancer.server.port')]: '9000',
    },
    HostConfig: {
      NetworkMode: ctx.stack.network,
      NanoCpus: hc.NanoCpus, Memory: hc.Memory, MemorySwap: hc.MemorySwap, PidsLimit: hc.PidsLimit,
      Init: hc.Init, CapDrop: hc.CapDrop, SecurityOpt: hc.SecurityOpt,
    },
  });
  await twin.start();
  const cookies = { withMiddleware: `instance=${inst.cookie}`, withoutMiddleware: `instance=${twinValue}` };
  await Promise.all(Object.values(cookies).map((c) => reachable(ctx, c)));

  const rounds = ctx.quick ? 2 : 6;
  const secs = Math.max(1, Math.round(ctx.sizes.loadSeconds / 2));
  const hasWrk = (await run('sh', ['-c', 'command -v wrk']).catch(() => ({ code: 1 }))).code === 0;
  const out: Record<keyof typeof cookies, ProxiedRun[]> = { withMiddleware: [], withoutMiddleware: [] };
  for (let i = 0; i < rounds; i++) {
    // A B, then B A: neither side always runs on a warmer machine.
    const order = (i % 2 === 0 ? ['withMiddleware', 'withoutMiddleware'] : ['withoutMiddleware', 'withMiddleware']) as (keyof typeof cookies)[];
    for (const k of order) out[k].push(await load(ctx.stack.web, cookies[k], secs, hasWrk));
  }
  const r2 = (v: number) => Math.round(v * 100) / 100;
  const med = (runs: ProxiedRun[]): ProxiedRun => ({
    requestsPerSec: r2(median(runs.map((r) => r.requestsPerSec))),
    p50: r2(median(runs.map((r) => r.p50))),
    p99: r2(median(runs.map((r) => r.p99))),
    errors: runs.reduce((s, r) => s + r.errors, 0),
  });
  const m = { withMiddleware: med(out.withMiddleware), withoutMiddleware: med(out.withoutMiddleware) };
  return {
    tool: hasWrk ? 'wrk -t1' : 'node loadgen (undici; wrk not installed)',
    connections: CONNECTIONS, secondsPerRound: secs, ...out, median: m,
    throughputRatio: Math.round((m.withMiddleware.requestsPerSec / m.withoutMiddleware.requestsPerSec) * 1000) / 1000,
  };
}

/** Answered by the app through Traefik (not by the wake listener) with this cookie. */
async function reachable(ctx: Ctx, cookie: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const r = await request(`${ctx.stack.web}/`, { headers: { cookie } });
    await r.body.dump();
    if (r.statusCode === 200 && r.headers['x-spawner-wake'] === undefined) return;
    await sleep(100);
  }
  throw new Error(`no route to the app for ${cookie.slice(0, 20)}…`);
}

async function load(web: string, cookie: string, secs: number, hasWrk: boolean): Promise<ProxiedRun> {
  const url = `${web}/`;
  if (hasWrk) {
    const r = await run('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${secs}s`, '--timeout', '5s', '--latency', '-H', `Cookie: ${cookie}`, url], undefined, (secs + 30) * 1000);
    if (r.code !== 0) throw new Error(`wrk failed: ${r.err.slice(0, 300)}`);
    const w = parseWrk(r.out);
    return { requestsPerSec: w.requestsPerSec, p50: w.latencyMs.p50, p99: w.latencyMs.p99, errors: w.errors };
  }
  const script = fileURLToPath(new URL('./loadgen.ts', import.meta.url));
  const loader = fileURLToPath(new URL('../ts-loader.mjs', import.meta.url));
  const r = await run(process.execPath, ['--import', loader, script, url, String(secs * 1000), String(CONNECTIONS), cookie], undefined, (secs + 30) * 1000);
  if (r.code !== 0) throw new Error(`loadgen failed: ${r.err.slice(0, 300)}`);
  const j = JSON.parse(r.out) as { requestsPerSec: number; latencyMs: { p50: number; p99: number }; errors: number };
  return { requestsPerSec: j.requestsPerSec, p50: j.latencyMs.p50, p99: j.latencyMs.p99, errors: j.errors };
}
