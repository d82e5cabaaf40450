/** Shared context of the bench sections: the stack, the deploy API, bounded concurrency. */
import { performance } from 'node:perf_hooks';
import type Docker from 'dockerode';
import { api, instanceNetwork, type Stack } from '../../test/helpers/stack.js';
import type { EventLog } from './docker.js';
import { firstOk } from './client.js';

export interface Sizes {
  wakeRuns: number;
  browserRuns: number;
  stormClients: number;
  fanout: number;
  deploySequential: number;
  deployParallel: number;
  deployConcurrency: number;
  registered: number;
  listRuns: number;
  loadSeconds: number;
  /** The populations the scale section measures at. */
  scaleLevels: number[];
}

export const FULL: Sizes = {
  wakeRuns: 20, browserRuns: 10, stormClients: 200, fanout: 20, deploySequential: 50, deployParallel: 50,
  deployConcurrency: 10, registered: 1000, listRuns: 20, loadSeconds: 10, scaleLevels: [10, 100, 1000],
};
export const QUICK: Sizes = {
  wakeRuns: 3, browserRuns: 2, stormClients: 200, fanout: 5, deploySequential: 5, deployParallel: 5,
  deployConcurrency: 5, registered: 30, listRuns: 5, loadSeconds: 2, scaleLevels: [5, 10],
};

export interface Ctx {
  stack: Stack;
  token: string;
  docker: Docker;
  events: EventLog;
  sizes: Sizes;
  quick: boolean;
  images: { hc: string; nohc: string };
  /** performance.now() after which sections stop starting new iterations. */
  deadline: number;
  log: (msg: string) => void;
}

export interface Inst {
  name: string;
  id: string;
  cookie: string;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function checkDeadline(ctx: Ctx, what: string): void {
  if (performance.now() > ctx.deadline) throw new Error(`bench deadline reached during ${what}`);
}

/** IDLE=0: the mock app never stops itself, so only the bench decides when it is stopped. */
export async function deploy(ctx: Ctx, name: string, image: string, limits?: { cpus?: number }): Promise<Inst & { ms: number }> {
  const t0 = performance.now();
  const r = await api(ctx.stack, ctx.token, 'POST', '/deploy', { name, image, envs: { IDLE: '0' }, ...(limits ? { limits } : {}) });
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`deploy ${name}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
  return { name, id: String(r.body.id), cookie: String(r.body.cookie.value), ms };
}

/**
 * Waits until a freshly deployed app answers on its container address. Stopping earlier is not
 * just unrealistic but slow: the app is PID 1, and until Node has installed its SIGTERM handler
 * the signal is ignored, so `docker stop` waits the whole stop timeout (10 s) before SIGKILL.
 * Returns the container's inspect (taken before the wait) for callers that need more of it.
 */
export async function appUp(ctx: Ctx, inst: Inst): Promise<Docker.ContainerInspectInfo> {
  const info = await ctx.docker.getContainer(inst.id).inspect();
  const net = instanceNetwork(ctx.stack, inst.name);
  const ip = info.NetworkSettings.Networks[net]?.IPAddress;
  if (!ip) throw new Error(`${inst.name} has no address on ${net}`);
  await firstOk(`http://${ip}:9000/status`, { everyMs: 20, deadlineMs: 30_000 });
  return info;
}

/** Stop through the API: it returns once Traefik no longer routes to the instance. */
export async function stop(ctx: Ctx, name: string): Promise<number> {
  const t0 = performance.now();
  const r = await api(ctx.stack, ctx.token, 'POST', `/deploy/${name}/stop`);
  if (r.status !== 200) throw new Error(`stop ${name}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
  return performance.now() - t0;
}

// Bounded concurrency, shared with the e2e suites.
export { pool } from '../../test/helpers/pool.js';

export const pad = (n: number, w = 2) => String(n).padStart(w, '0');
