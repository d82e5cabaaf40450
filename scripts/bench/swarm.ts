/**
 * The bench on a swarm manager (scripts/bench-swarm.ts runs these; SPAWNER_RUNTIME=swarm, Traefik's
 * swarm provider). Measured in pairs on the same instance, order alternating as in wake.ts:
 *
 * - the floor: scale the service 0 → 1 with the Docker API (no spawner) → the task `running` in
 *   Swarm's listing, → the app's first 200 on its overlay (probed from inside the spawner's
 *   container, which is on every instance overlay: this host reaches no overlay address), and
 *   → the route in Traefik's API;
 * - the cold wake: first request through Traefik → the app's 200, following the 307 (the spawner
 *   scales up, waits for the gate, sends the client back), with the node the task ran on.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { api, docker, type Stack } from '../../test/helpers/stack.js';
import { eventsOf, followToApp, fromApp, type Instance } from '../../test/helpers/lifecycle.js';
import { routerGone, runningTask, tasksOf } from '../../test/helpers/swarm.js';
import { dist, median, round, type Dist } from './stats.js';
import { traefikRoute } from './client.js';
import { sleep } from './common.js';
import { isOutOfSequence } from '../../spawner/src/runtime/swarm-mapping.js';

export interface SwarmCtx {
  stack: Stack;
  token: string;
  log: (msg: string) => void;
}

export const serviceName = (stack: Stack, inst: Instance) => `${stack.runId}-${inst.name}`;

/**
 * Node id → how the report names it: its hostname when the nodes' hostnames differ, else its role
 * and id (the three test nodes share this machine's hostname).
 */
export async function nodeNames(): Promise<Map<string, string>> {
  const nodes = (await docker.listNodes()) as { ID: string; Spec?: { Role?: string }; Description?: { Hostname?: string } }[];
  const unique = new Set(nodes.map((n) => n.Description?.Hostname)).size === nodes.length;
  return new Map(nodes.map((n) => [n.ID, unique && n.Description?.Hostname ? n.Description.Hostname : `${n.Spec?.Role ?? 'node'} ${n.ID.slice(0, 6)}`]));
}

/** `docker service scale` through the API, retried on "update out of sequence". */
export async function scaleTo(svc: string, replicas: number): Promise<void> {
  for (let i = 0; ; i++) {
    const s = (await docker.getService(svc).inspect()) as { Version: { Index: number }; Spec: Record<string, unknown> };
    try {
      await docker.getService(svc).update({ version: s.Version.Index, ...s.Spec, Mode: { Replicated: { Replicas: replicas } } });
      return;
    } catch (err) {
      if (i >= 5 || !isOutOfSequence(err)) throw err;
    }
  }
}

/** Stopped through the API, and Traefik has dropped the router (so a request reaches the listener). */
export async function stopped(ctx: SwarmCtx, inst: Instance): Promise<void> {
  const r = await api(ctx.stack, ctx.token, 'POST', `/deploy/${inst.name}/stop`);
  if (r.status !== 200) throw new Error(`stop ${inst.name}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
  await routerGone(ctx.stack, inst);
}

/** Wall-clock ms at which `pred` first holds, polled every `everyMs`, or NaN at the deadline. */
async function whenTrue(pred: () => Promise<boolean>, deadline: number, everyMs = 20): Promise<number> {
  while (Date.now() < deadline) {
    if (await pred().catch(() => false)) return Date.now();
    await sleep(everyMs);
  }
  return Number.NaN;
}

/** Traefik's API shows the instance's swarm router enabled with at least one server. */
async function routed(ctx: SwarmCtx, inst: Instance): Promise<boolean> {
  const route = await traefikRoute(ctx.stack.traefikApi, inst.name, 'swarm');
  return route.enabled && route.servers.length > 0;
}

/**
 * Polls http://<address>:9000/status from inside the spawner's container, which is on every
 * instance overlay. It is started before the scale-up and reads the address from stdin once Swarm
 * has given the task one (before the task runs); it prints when it was ready and the first 200,
 * both wall-clock ms: the same clock as this process (one kernel).
 */
const PROBE = `let buf='';process.stdin.on('data',(d)=>{buf+=d;if(buf.includes('\\n'))go(buf.trim())});console.log('ready',Date.now());
async function go(u){const end=Date.now()+60000;for(;;){try{const r=await fetch(u,{signal:AbortSignal.timeout(500)});if(r.status===200){console.log('ok',Date.now());process.exit(0)}}catch{}
if(Date.now()>end)process.exit(1);await new Promise(r=>setTimeout(r,10))}}`;

function probeFromEdge(ctx: SwarmCtx): { ready: Promise<number>; target(url: string): void; ok: Promise<number> } {
  const p = spawn('docker', ['exec', '-i', ctx.stack.spawner.id, 'node', '-e', PROBE], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let onReady!: (ms: number) => void;
  const ready = new Promise<number>((r) => { onReady = r; });
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const m = /^ready (\d+)$/m.exec(out);
    if (m) onReady(Number(m[1]));
  });
  const ok = new Promise<number>((resolve, reject) => {
    p.on('error', reject);
    p.on('close', (code) => {
      const m = /^ok (\d+)$/m.exec(out);
      if (code === 0 && m) resolve(Number(m[1]));
      else reject(new Error(`overlay probe exited ${code}: ${out.slice(-200)}`));
    });
  });
  return { ready, ok, target: (url) => { p.stdin.end(`${url}\n`); } };
}

/** The task's address on the instance's overlay, once Swarm has allocated it. */
async function taskAddress(svc: string, network: string): Promise<string | undefined> {
  const tasks = (await docker.listTasks({ filters: { service: [svc], 'desired-state': ['running'] } })) as {
    NetworksAttachments?: { Network?: { Spec?: { Name?: string } }; Addresses?: string[] }[];
  }[];
  for (const t of tasks) {
    const a = t.NetworksAttachments?.find((n) => n.Network?.Spec?.Name === network)?.Addresses?.[0];
    if (a) return a.split('/')[0];
  }
  return undefined;
}

export interface FloorRun { toRunning: number; toApp200: number; toRoute: number; node: string }

/** Stopped through the API, then scaled 0 → 1 without the spawner. */
export async function floorRun(ctx: SwarmCtx, inst: Instance, nodes: Map<string, string>): Promise<FloorRun> {
  const svc = serviceName(ctx.stack, inst);
  await stopped(ctx, inst);
  const probe = probeFromEdge(ctx);
  await probe.ready;
  const t0 = Date.now();
  const deadline = t0 + 60_000;
  await scaleTo(svc, 1);
  let address: string | undefined;
  const addressed = whenTrue(async () => (address = await taskAddress(svc, `${ctx.stack.network}-${svc}`)) !== undefined, deadline, 10)
    .then((at) => { if (address) probe.target(`http://${address}:9000/status`); return at; });
  const [running, route, app, addressedAt] = await Promise.all([
    whenTrue(async () => (await runningTask(svc)) !== undefined, deadline),
    whenTrue(() => routed(ctx, inst), deadline),
    probe.ok,
    addressed,
  ]);
  if (!(addressedAt < running)) ctx.log(`${inst.name}: the task ran before it had an address in the listing: the floor may be late`);
  const task = await runningTask(svc);
  return { toRunning: running - t0, toApp200: app - t0, toRoute: route - t0, node: nodes.get(task?.NodeID ?? '') ?? '?' };
}

export interface WakeRun { ms: number; node: string }

export async function wakeRun(ctx: SwarmCtx, inst: Instance, nodes: Map<string, string>): Promise<WakeRun> {
  await stopped(ctx, inst);
  const woke = await followToApp(ctx.stack, inst);
  if (!fromApp(woke.final, inst)) throw new Error(`wake of ${inst.name} ended at ${woke.final.status}, not at the app`);
  const task = await runningTask(serviceName(ctx.stack, inst));
  return { ms: woke.ms, node: nodes.get(task?.NodeID ?? '') ?? '?' };
}

export interface PairsResult {
  floor: { toRunning: Dist; toApp200: Dist; toRoute: Dist };
  /** Per floor run: the route in Traefik's API after the task was running (Traefik's poll). */
  routeAfterRunning: Dist;
  wake: Dist;
  /** Median over the pairs of (wake − floor to the app's 200). */
  overMs: number;
  byNode: Record<string, { wake: Dist; floorToApp200: Dist }>;
}

/** `runs` pairs over the instances in turn (several instances spread them over the nodes). */
export async function pairs(ctx: SwarmCtx, insts: Instance[], runs: number): Promise<PairsResult> {
  const nodes = await nodeNames();
  const floors: FloorRun[] = [];
  const wakes: WakeRun[] = [];
  for (let i = 0; i < runs; i++) {
    const inst = insts[i % insts.length] as Instance;
    if (i % 2 === 0) { floors.push(await floorRun(ctx, inst, nodes)); wakes.push(await wakeRun(ctx, inst, nodes)); }
    else { wakes.push(await wakeRun(ctx, inst, nodes)); floors.push(await floorRun(ctx, inst, nodes)); }
    ctx.log(`swarm pair ${i + 1}/${runs} (${inst.name}): floor ${floors[i]?.toApp200} ms on ${floors[i]?.node}, wake ${wakes[i]?.ms} ms on ${wakes[i]?.node}`);
  }
  const byNode: PairsResult['byNode'] = {};
  for (const node of new Set([...wakes.map((w) => w.node), ...floors.map((f) => f.node)])) {
    byNode[node] = { wake: dist(wakes.filter((w) => w.node === node).map((w) => w.ms)), floorToApp200: dist(floors.filter((f) => f.node === node).map((f) => f.toApp200)) };
  }
  return {
    floor: { toRunning: dist(floors.map((f) => f.toRunning)), toApp200: dist(floors.map((f) => f.toApp200)), toRoute: dist(floors.map((f) => f.toRoute)) },
    routeAfterRunning: dist(floors.map((f) => f.toRoute - f.toRunning)),
    wake: dist(wakes.map((w) => w.ms)),
    overMs: round(median(wakes.map((w, i) => w.ms - (floors[i]?.toApp200 ?? Number.NaN)))),
    byNode,
  };
}

export interface StormResult { clients: number; atApp: number; viaListener: number; wakeEvents: number; tasks: number; allDoneMs: number }

/** `clients` concurrent first requests through Traefik for a stopped instance: one scale-up? */
export async function storm(ctx: SwarmCtx, inst: Instance, clients: number): Promise<StormResult> {
  await stopped(ctx, inst);
  const svc = serviceName(ctx.stack, inst);
  const since = Date.now();
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: clients }, () => followToApp(ctx.stack, inst)));
  const allDoneMs = Math.round(performance.now() - t0);
  const events = await eventsOf(ctx.stack, ctx.token, inst.name);
  return {
    clients,
    atApp: results.filter((r) => fromApp(r.final, inst)).length,
    viaListener: results.filter((r) => r.hops > 0).length,
    wakeEvents: events.filter((e) => e.kind === 'wake' && e.at >= since).length,
    tasks: (await tasksOf(svc)).length,
    allDoneMs,
  };
}
