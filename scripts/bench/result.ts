/** The JSON written to bench-results/latest.json, and the targets/explanations derived from it. */
import type { NetworksResult } from './networks.js';
import type { RedeployResult } from './redeploy.js';
import type { BrowserResult } from './browser.js';
import type { DeployResult, FootprintResult } from './deploy.js';
import type { Machine } from './docker.js';
import type { HotPathResult } from './hotpath.js';
import type { ProxiedResult } from './proxied.js';
import type { FanoutResult, StormResult } from './storm.js';
import type { FloorWakeResult } from './wake.js';
import type { FleetResult } from './fleet.js';
import type { ScaleLevel } from './scale.js';

export interface Target {
  id: string;
  description: string;
  target: string;
  value: number;
  unit: string;
  pass: boolean;
}

export interface BenchResult {
  schema: 'spawner-bench/1';
  mode: 'full' | 'quick';
  /** The stack's run id: every container/network/volume of the run carried it (label + names). */
  runId: string;
  startedAt: string;
  runSeconds: number;
  machine: Machine;
  tools: { chromium: string; loadGenerator: string };
  setup: {
    spawnerImage: string;
    maxConcurrentStarts: number;
    probeThroughProxy: boolean;
    logLevel: string;
    images: { hc: string; nohc: string };
  };
  sections: {
    floor?: Partial<Record<'hc' | 'nohc', FloorWakeResult['floor']>>;
    /** nohcCpus2: the nohc image deployed with limits.cpus 2 (the others: the spawner's default limits). */
    coldWake?: Partial<Record<'hc' | 'nohc' | 'nohcCpus2', FloorWakeResult>>;
    browser?: BrowserResult[];
    storm?: StormResult;
    fanout?: FanoutResult;
    deploy?: DeployResult;
    footprint?: FootprintResult;
    hotPath?: HotPathResult;
    proxied?: ProxiedResult;
    networks?: NetworksResult;
    redeploy?: RedeployResult;
    fleet?: FleetResult;
    scale?: ScaleLevel[];
  };
  /** 1-minute load average sampled every 5 s during the run (other work on the host skews figures). */
  loadAverageDuring: { samples: number; min: number; mean: number; max: number };
  targets: Target[];
  explanations: string[];
  errors: Record<string, string>;
}

const ok = (v: number | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** Docker's health StartInterval exists from API 1.44 (the spawner sets it there). */
export function hasStartInterval(api: string): boolean {
  const [maj = 0, min = 0] = api.split('.').map(Number);
  return maj > 1 || min >= 44;
}

export function evaluateTargets(r: BenchResult): Target[] {
  const out: Target[] = [];
  const s = r.sections;
  const add = (id: string, description: string, target: string, value: number | undefined, unit: string, pass: (v: number) => boolean) => {
    if (ok(value)) out.push({ id, description, target, value, unit, pass: pass(value) });
  };
  add('overheadNoHc', 'wake overhead over floor, no HEALTHCHECK (p50 of per-run pairs)', '≤ 100 ms', s.coldWake?.nohc?.overhead.vsApp200.p50, 'ms', (v) => v <= 100);
  add('overheadHcVsHealthy', 'wake overhead over floor, HEALTHCHECK (floor = Docker healthy; p50 of pairs)', '≤ 100 ms', s.coldWake?.hc?.overhead.vsHealthy?.p50, 'ms', (v) => v <= 100);
  add('coldWakeNoHc', 'cold wake end to end, mock-app without HEALTHCHECK (p50)', '≤ 1500 ms', s.coldWake?.nohc?.wake.total.p50, 'ms', (v) => v <= 1500);
  // Engines with the health StartInterval (API >= 1.44): Docker's `healthy` follows the app, so
  // the HEALTHCHECK wake is held to the app's own readiness, and the plain wake to 400 ms.
  if (hasStartInterval(r.machine.docker.apiVersion)) {
    add('overheadHcVsApp200', 'HEALTHCHECK cold wake over the app\'s first 200 (p50 of pairs; API ≥ 1.44)', '≤ 100 ms', s.coldWake?.hc?.overhead.vsApp200.p50, 'ms', (v) => v <= 100);
    add('coldWakeNoHc400', 'cold wake end to end without HEALTHCHECK (p50; API ≥ 1.44)', '≤ 400 ms', s.coldWake?.nohc?.wake.total.p50, 'ms', (v) => v <= 400);
  }
  for (const v of ['nohc', 'hc'] as const) {
    const rd = s.redeploy?.[v];
    if (rd) add(`redeployFailures${v === 'nohc' ? 'NoHc' : 'Hc'}`, `start-first redeploys under load ${v === 'nohc' ? 'without' : 'with'} HEALTHCHECK: errors + lost + replayed POSTs`, '= 0', rd.errors + rd.lost + rd.replayed, '', (x) => x === 0);
  }
  if (s.storm) {
    out.push({
      id: 'storm', description: `storm of ${s.storm.clients}: container starts (errors ${s.storm.errors})`, target: 'exactly 1 start, 0 errors',
      value: s.storm.starts, unit: 'starts', pass: s.storm.starts === 1 && s.storm.errors === 0,
    });
  }
  add('rss', `spawner RSS with ${s.footprint?.registration.registered ?? '?'} instances`, '≤ 150 MiB', s.footprint?.withInstances.rssMiB, 'MiB', (v) => v <= 150);
  add('getDeploy', `GET /deploy p50 at ${s.footprint?.getDeploy.instancesListed ?? '?'} instances`, '≤ 50 ms', s.footprint?.getDeploy.p50, 'ms', (v) => v <= 50);
  const fl = s.fleet;
  if (fl) {
    for (const d of fl.deploys) {
      add(`fleetDeploys${d.concurrency}`, `${d.concurrency} concurrent deploys: ${d.perSec} deploys/s ÷ the engine's create+start floor ${fl.floor.best.createStart.perSec}/s (at ${fl.floor.best.createStart.concurrency})`, '≥ 0.8', d.ratioToCreateStartFloor, '×', (v) => v >= 0.8);
    }
    add('fleetFanout', `fan-out wake of ${fl.fanout.instances}: ${fl.fanout.perSec} instances/s at their app ÷ the engine's start floor ${fl.floor.best.start.perSec}/s (at ${fl.floor.best.start.concurrency})`, '≥ 0.8', fl.fanout.ratioToStartFloor, '×', (v) => v >= 0.8);
  }
  const top = s.scale?.at(-1);
  if (top) {
    add('scaleDeploy', `deploy of one instance (p50, one after another) at ${top.instances} isolated instances`, '≤ 1000 ms', top.deploySequential.p50, 'ms', (v) => v <= 1000);
    add('scaleOverhead', `wake overhead over the floor (no HEALTHCHECK, p50 of pairs) at ${top.instances} isolated instances`, '≤ 100 ms', top.wake.overheadVsApp200, 'ms', (v) => v <= 100);
  }
  return out;
}

export function explain(r: BenchResult): string[] {
  const s = r.sections;
  const out: string[] = [];
  const api = r.machine.docker.apiVersion;
  const hc = s.coldWake?.hc;
  const nohc = s.coldWake?.nohc;
  if (hc?.floor.toHealthy && ok(hc.floor.toHealthy.p50) && hasStartInterval(api)) {
    out.push(`Docker health follows the app on API ${api}: the spawner gives instances a 100 ms health StartInterval (API ≥ 1.44), so Docker reports \`healthy\` ${hc.floor.toHealthy.p50} ms after \`docker start\` (p50), ${Math.round(hc.floor.toHealthy.p50 - hc.floor.toApp200.p50)} ms after the app's first 200 (${hc.floor.toApp200.p50} ms); the HC cold wake (p50 ${hc.wake.total.p50} ms) is ${hc.overhead.vsApp200.p50} ms over the app's own readiness.`);
  } else if (hc?.floor.toHealthy && ok(hc.floor.toHealthy.p50)) {
    const gap = Math.round(hc.floor.toHealthy.p50 - hc.floor.toApp200.p50);
    out.push(`Docker health is the floor of a HEALTHCHECK image: the app answers ${hc.floor.toApp200.p50} ms after \`docker start\` (p50) but Docker reports \`healthy\` only after ${hc.floor.toHealthy.p50} ms (p50), +${gap} ms, because the first check runs one interval (2 s) after start and API ${api} lacks the health StartInterval (API ≥ 1.44) that would probe faster while starting. The spawner must wait for \`healthy\` (Traefik does not route to a starting container), so the HC cold wake (p50 ${hc.wake.total.p50} ms) is ${hc.overhead.vsApp200.p50} ms over the app's own readiness but ${hc.overhead.vsHealthy?.p50 ?? '?'} ms over Docker's.`);
  }
  const throttle = r.machine.traefik.providersThrottleDuration;
  for (const w of [nohc, hc]) {
    if (!w) continue;
    const after = w.floor.toHealthy ? `, i.e. ~${Math.round(w.floor.toRoute.p50 - w.floor.toHealthy.p50)} ms after Docker's \`healthy\` (Traefik skips a container until it is healthy)` : '';
    out.push(`Traefik providersThrottleDuration=${throttle}: in the floor runs Traefik's API showed the route p50 ${w.floor.toRoute.p50} ms after \`docker start\` for ${w.image}${after}; in the wakes the gate's \`route\` phase took p50 ${w.wake.phases.route.p50} / p95 ${w.wake.phases.route.p95} ms. With Traefik's default 2 s throttle this step alone would cost up to 2 s.`);
  }
  if (nohc) {
    out.push(`No-HEALTHCHECK wake (${nohc.image}): p50 ${nohc.wake.total.p50} ms end to end = floor p50 ${nohc.floor.toApp200.p50} ms (Node start of the app in a fresh container; \`docker start\` call alone p50 ${nohc.floor.dockerStartCall.p50} ms) + overhead p50 ${nohc.overhead.vsApp200.p50} ms (phases p50: start ${nohc.wake.phases.start.p50}, health ${nohc.wake.phases.health.p50}, route ${nohc.wake.phases.route.p50}, probe ${nohc.wake.phases.probe.p50} ms, plus the redirect round trip). Measured against the moment the app was reachable through Traefik (max of app 200 and route present; Traefik's route p50 ${nohc.floor.toRoute.p50} ms after start) the overhead is p50 ${nohc.overhead.vsReachable.p50} ms.`);
  }
  const f = s.footprint;
  if (f && ok(f.getDeploy.p50) && ok(f.dockerListFloor.p50)) {
    out.push(`GET /deploy at ${f.getDeploy.instancesListed} instances: p50 ${f.getDeploy.p50} ms. The spawner answers from its store and an event-fed cache of container states (repaired by every rescan), so the call does not wait for Docker's own list of the same ${f.getDeploy.instancesListed} containers, which takes p50 ${f.dockerListFloor.p50} ms from the host.`);
  }
  if (f) {
    out.push(`Registering ${f.registration.added} instances (each a real deploy = create + start of a mock-app container, then an API stop that waits for Traefik to drop the route) took ${f.registration.wallSec} s at ${f.registration.concurrency} in flight (p50 ${f.registration.perInstanceDeployPlusStop.p50} ms per instance); they stay registered but stopped, as most instances of a real installation sleep.`);
  }
  if (s.deploy) {
    const d = s.deploy;
    const seqRate = Math.round((d.sequential.perDeploy.n / (d.sequential.wallMs / 1000)) * 100) / 100;
    out.push(`Deploys: one after another ${seqRate} deploys/s (p50 ${d.sequential.perDeploy.p50} ms each), ${d.parallel.concurrency} at a time ${d.parallel.deploysPerSec} deploys/s (p50 ${d.parallel.perDeploy.p50} ms each): concurrency mostly turns into queueing, because each deploy is a Docker create + start (the engine and the app's Node boot share the same ${r.machine.nproc} CPUs).`);
  }
  if (s.footprint && ok(s.footprint.withInstances.rssMiB)) {
    const f = s.footprint;
    out.push(`Spawner memory: RSS ${f.idle.rssMiB} MiB idle (Node + express + better-sqlite3 + dockerode baseline), ${f.withInstances.rssMiB} MiB with ${f.registration.registered} instances after registering them, ${f.afterList.rssMiB} MiB after ${f.getDeploy.n + 1} GET /deploy calls; cgroup memory (docker stats) ${f.withInstances.cgroupMiB} MiB.`);
  }
  if (s.proxied) {
    const p = s.proxied;
    out.push(`Recovery middleware: requests through Traefik to a running instance (errors middleware for 502/504) ran at ${p.median.withMiddleware.requestsPerSec} req/s against ${p.median.withoutMiddleware.requestsPerSec} req/s for a twin without it (ratio ${p.throughputRatio}; p99 ${p.median.withMiddleware.p99} vs ${p.median.withoutMiddleware.p99} ms; medians of ${p.withMiddleware.length} alternating rounds of ${p.secondsPerRound} s).`);
  }
  if (s.hotPath) {
    out.push(`Hot path: ${s.hotPath.tool} and the spawner share the machine's ${r.machine.nproc} CPUs, so ${s.hotPath.requestsPerSec} req/s is a lower bound of the listener alone.`);
  }
  const fl = s.fleet;
  if (fl) {
    const b = fl.floor.best;
    for (const d of fl.deploys) {
      out.push(`Fleet deploys, ${d.concurrency} at a time: ${d.perSec} deploys/s = ${d.ratioToCreateStartFloor} × the engine's best create+start (${b.createStart.perSec}/s at ${b.createStart.concurrency}, plain containers on one shared network), and ${d.ratioToIsolatedFloor} × its best rate for the engine work of an isolated deploy (${b.createStartIsolated.perSec}/s at ${b.createStartIsolated.concurrency}: the instance's own network, Traefik and the spawner joined to it, create, start). The difference between the two floors is what isolation costs the engine; the rest is the spawner's own work and the readiness gate (p50 ${d.perDeploy.p50} ms per deploy at this concurrency).`);
    }
    const f = fl.fanout;
    out.push(`Fan-out wake of ${f.instances}: ${f.perSec} instances/s at their app = ${f.ratioToStartFloor} × the engine's best start rate (${b.start.perSec}/s at ${b.start.concurrency}) and ${f.ratioToStartToApp200Floor} × its best start → app 200 rate (${b.startToApp200.perSec}/s at ${b.startToApp200.concurrency}). At most maxConcurrentStarts=${r.setup.maxConcurrentStarts} wakes run at once, the rest wait in line; each one holds its slot through the whole gate (start, app up, Traefik's route, one probe through Traefik), so the route wait after each start is time the engine is not starting anything for that slot.`);
  }
  if (s.fanout) {
    out.push(`Fan-out: beyond maxConcurrentStarts=${r.setup.maxConcurrentStarts} wakes wait in line for a slot (503 + Retry-After only once the line is full); ${s.fanout.firstTry503} of ${s.fanout.instances} first tries got 503, and ${s.fanout.finalSuccess}/${s.fanout.instances} reached their app.`);
  }
  return out;
}
