/**
 * The readiness gate: a woken instance is "ready" only when (1) the app answers, (2) Traefik has
 * its route with a server at the container's current address, and (3) optionally, a request
 * through Traefik's entrypoint reaches the app and not our catch-all. Peers that stop after (1)
 * hand out Bad Gateways; this gate is what makes the redirect land.
 */
import { instanceNetworkName } from '../instances/deps.js';
import type { Config } from '../config.js';
import type { ContainerRuntime } from '../runtime/types.js';
import type { TraefikApi } from '../traefik/api.js';
import type { InstanceRecord } from '../instances/types.js';
import { routerName } from '../traefik/labels.js';
import { SpawnerError } from '../errors.js';
import { HealthWatcher } from './health.js';
import { httpReady, reachesApp, tcpReady, type ThroughProxyRequest } from './probes.js';
import { retryUntil } from './retry.js';
import { errorMessage } from '../log.js';
import { instanceAddress } from './address.js';

export interface GateDeps {
  cfg: Config;
  runtime: ContainerRuntime;
  health: HealthWatcher;
  traefik: TraefikApi;
  now: () => number;
}

export interface GateTimings {
  health: number;
  route: number;
  probe: number;
}

export interface GateTarget {
  record: InstanceRecord;
  containerId: string;
  /** How to reach this instance through Traefik (the client's own routing value); omit to skip step 3. */
  throughProxy?: ThroughProxyRequest;
}

const PROBE_TIMEOUT_MS = 1_000;

/** Where a wake is, so a deadline can say what it was waiting for instead of just "timeout". */
export interface GateProgress {
  step: 'app' | 'route' | 'probe';
  lastError?: string;
}

/** With `withError`, includes the last internal error: for logs and the event log, not for clients. */
export function describeProgress(p: GateProgress, withError = true): string {
  const what = {
    app: 'the app to answer its health check',
    route: 'Traefik to route to the instance',
    probe: 'a request through Traefik to reach the app',
  }[p.step];
  return `waiting for ${what}${withError && p.lastError ? ` (last error: ${p.lastError})` : ''}`;
}

/**
 * The gate polls its own steps fast (first retry after 10 ms, then at most every 50 ms): each
 * poll is one cheap local call (a TCP connect to the container, or two reads of Traefik's API),
 * and the gap between the app being up and the poll seeing it is time every client waits.
 * (retryUntil's defaults, 25 ms growing to 250 ms, cost a mean ~125 ms of that lag per step.)
 */
export const GATE_POLL = { firstMs: 10, capMs: 50 } as const;

export async function waitReady(
  deps: GateDeps, t: GateTarget, signal: AbortSignal, progress: GateProgress = { step: 'app' },
): Promise<GateTimings> {
  const t0 = deps.now();
  const info = await runningInfo(deps, t);
  const ip = instanceAddress(deps.cfg, info, t.record);
  if (!ip) throw new SpawnerError('wake_failed', `container has no address on network ${instanceNetworkName(deps.cfg, t.record.name)}`);
  // Without a HEALTHCHECK, Traefik routes to the container as soon as it runs: watch for the
  // route while the app boots instead of after it (with one, Traefik waits for `healthy`, and
  // polling its API during the health interval would only load it).
  const early = info.hasHealthcheck ? undefined : watchRoute(deps, t.record, ip, signal, progress);
  let t1: number;
  try {
    await appUp(deps, t, info.hasHealthcheck, ip, signal);
    t1 = deps.now();
  } catch (err) {
    early?.abandon();
    throw err;
  }
  Object.assign(progress, { step: 'route', lastError: early?.lastError() });
  const t2 = await (early ?? watchRoute(deps, t.record, ip, signal, progress)).done;
  if (deps.cfg.probeThroughProxy && t.throughProxy) {
    Object.assign(progress, { step: 'probe', lastError: undefined });
    const req = t.throughProxy;
    await retryUntil(async () => ((await reachesApp(req, PROBE_TIMEOUT_MS)) ? true : undefined), { signal, ...GATE_POLL });
  }
  // A route that was already there when the app came up costs the wake nothing: route = 0.
  return { health: t1 - t0, route: Math.max(0, t2 - t1), probe: deps.now() - Math.max(t1, t2) };
}

async function runningInfo(deps: GateDeps, t: GateTarget) {
  const info = await deps.runtime.inspect(t.containerId);
  if (!info || info.state !== 'running') {
    throw new SpawnerError('wake_failed', `container is ${info?.state ?? 'gone'}`);
  }
  return info;
}

/** Step 1: Docker `healthy` when the image has a HEALTHCHECK, else an HTTP or TCP probe. */
async function appUp(deps: GateDeps, t: GateTarget, hasHealthcheck: boolean, ip: string, signal: AbortSignal): Promise<void> {
  if (hasHealthcheck) {
    await deps.health.waitHealthy(t.containerId, signal);
    return;
  }
  const url = probeUrl(t.record, ip, deps.cfg.healthPath);
  const ok = url
    ? () => httpReady(url, PROBE_TIMEOUT_MS)
    : () => tcpReady(ip, t.record.port, PROBE_TIMEOUT_MS);
  await retryUntil(async () => ((await ok()) ? true : undefined), { signal, ...GATE_POLL });
}

interface RouteWatch {
  /** Resolves with the time the route was seen. */
  done: Promise<number>;
  lastError(): string | undefined;
  /** Stop polling (the wake failed before it needed the route); never rejects unhandled. */
  abandon(): void;
}

/**
 * Step 2, started early or late. Its errors reach `progress` only once the wake is waiting for
 * this step: a deadline while the app boots must not blame Traefik.
 */
function watchRoute(deps: GateDeps, rec: InstanceRecord, ip: string, signal: AbortSignal, progress: GateProgress): RouteWatch {
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  let last: string | undefined;
  const note = (msg: string) => {
    last = msg;
    if (progress.step === 'route') progress.lastError = msg;
  };
  const done = routePresent(deps, rec, ip, both, note).then(() => deps.now());
  done.catch(() => undefined); // awaited by the caller unless abandoned
  return { done, lastError: () => last, abandon: () => stop.abort() };
}

/**
 * The `health-check` URL keeps the original's meaning (what to probe) but is always aimed at the
 * instance's own container address: only its port and path are used, so a deploy request cannot
 * make the spawner probe arbitrary hosts (SSRF).
 */
export function probeUrl(rec: InstanceRecord, ip: string, healthPath?: string): string | undefined {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  if (rec.healthCheck) {
    const u = new URL(rec.healthCheck);
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    return `${u.protocol}//${host}:${port}${u.pathname}${u.search}`;
  }
  return healthPath ? `http://${host}:${rec.port}${healthPath}` : undefined;
}

/** Step 2: Traefik's API shows the router enabled and a server at the current address. */
async function routePresent(deps: GateDeps, rec: InstanceRecord, ip: string, signal: AbortSignal, note: (msg: string) => void) {
  const name = routerName(rec.name);
  const host = ip.includes(':') ? `[${ip}]` : ip;
  const want = `http://${host}:${rec.port}`;
  await retryUntil(async () => {
    const [router, service] = await Promise.all([deps.traefik.router(name), deps.traefik.service(name)]);
    // A router Traefik refuses (e.g. SPAWNER_RECOVER_SERVICE names no service) never comes up:
    // say why in the deadline's log line instead of a bare "waiting".
    if (router && router.status !== 'enabled' && router.errors) note(`Traefik: router ${name} is ${router.status}: ${router.errors.join('; ').slice(0, 300)}`);
    if (router?.status !== 'enabled' || !service) return undefined;
    return service.serverUrls.includes(want) ? true : undefined;
  }, { signal, ...GATE_POLL, onError: (err) => { note(`Traefik API: ${errorMessage(err)}`); } });
}

/**
 * After a stop, wait (bounded) until Traefik no longer routes to the instance, so a request sent
 * after `stop` returns falls through to the wake listener instead of dialling a dead address.
 * If Traefik's API cannot be read we do not block: it is not knowable, and the stop itself is done.
 */
export async function waitRouteGone(traefik: TraefikApi, name: string, signal: AbortSignal): Promise<boolean> {
  try {
    await retryUntil(async () => {
      try {
        const router = await traefik.router(routerName(name));
        return router ? undefined : true;
      } catch {
        return true;
      }
    }, { signal });
    return true;
  } catch {
    return false;
  }
}
