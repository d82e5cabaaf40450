/** Everything the instances domain needs from the outside, injected (clock included). */
import type { Config } from '../config.js';
import type { ContainerRuntime } from '../runtime/types.js';
import type { InstanceStore } from '../store/instances.js';
import type { EventLog } from '../store/events.js';
import type { Logger } from '../log.js';
import type { SpawnerMetrics } from '../metrics.js';
import type { InstanceRecord } from './types.js';
import type { KnownState } from './states.js';
import type { TraefikApi } from '../traefik/api.js';
import type { Initializer } from './init.js';
import type { IdentityStore } from '../store/identity.js';
import { SpawnerError } from '../errors.js';
import type { VolumeStore } from '../store/volumes.js';

export interface InstanceDeps {
  cfg: Config;
  runtime: ContainerRuntime;
  instances: InstanceStore;
  events: EventLog;
  spawnerId: string;
  log: Logger;
  metrics: SpawnerMetrics;
  now: () => number;
  /** Optional so unit tests of pure domain logic need no Traefik. */
  traefik?: TraefikApi;
  /** Instance initialization (deploy option `init`); absent: deploys with `init` are refused. */
  init?: Initializer;
  /** Identity credential hashes (GET /.spawner/self); absent: instances get no credential. */
  identities?: IdentityStore;
  /** Managed data volumes (deploy option `volume`); absent: deploys with `volume` are refused. */
  volumes?: VolumeStore;
}

export function containerName(cfg: Config, name: string): string {
  return `${cfg.containerPrefix}${name}`;
}

/**
 * The instance's own network. It starts with the control network's name on purpose: Docker picks
 * a multi-network container's default gateway (and the endpoint its published ports DNAT to) by
 * network name order, and a name sorts after its own prefix, so Traefik's and the spawner's
 * published ports and egress stay on the control network however many instance networks they join.
 */
export function instanceNetworkName(cfg: Config, name: string): string {
  return `${cfg.network}-${containerName(cfg, name)}`;
}

/** Public view of an instance: never the routing secret, its hash, or the Traefik rule labels. */
export interface InstanceView {
  id: string | null;
  name: string;
  image: string;
  status: string;
  health: string;
  labels: Record<string, string>;
  network: string;
  port: number;
  routing: string;
  public: boolean;
  createdAt: string;
  lastWakeAt: string | null;
  lastActivityAt: string | null;
  /** Initialization state (never its result: that is GET /deploy/:name/init); null without init. */
  init: { status: string; reason: string | null } | null;
  /** The managed data volume (status `missing`: removed outside the spawner); null without one. */
  volume: { path: string; name: string; status: string } | null;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function toView(
  rec: InstanceRecord, status: string, health: string, init: InstanceView['init'] = null, volume: InstanceView['volume'] = null,
): InstanceView {
  return {
    id: rec.containerId,
    name: rec.name,
    image: rec.image,
    status,
    health,
    labels: rec.labels,
    network: rec.network,
    port: rec.port,
    routing: rec.routing,
    public: rec.public,
    createdAt: new Date(rec.createdAt).toISOString(),
    lastWakeAt: iso(rec.lastWakeAt),
    lastActivityAt: iso(rec.lastActivityAt),
    init,
    volume,
  };
}

/** The view of a record with its last known container state (`gone`: removed outside). */
export function viewOf(rec: InstanceRecord, info: KnownState | undefined, init?: Initializer, volumes?: VolumeStore): InstanceView {
  // Docker keeps the last health of a stopped container; it says nothing about a stopped one.
  const health = info?.state === 'running' ? info.health : 'none';
  return toView(rec, info ? info.state : rec.containerId ? 'gone' : 'creating', health, initState(init, rec.name), volumeState(volumes, rec.name));
}

export function volumeState(volumes: VolumeStore | undefined, name: string): InstanceView['volume'] {
  const v = volumes?.get(name);
  return v ? { path: v.path, name: v.name, status: v.status } : null;
}

export function initState(init: Initializer | undefined, name: string): InstanceView['init'] {
  const i = init?.view(name, false);
  return i ? { status: i.status, reason: i.reason } : null;
}

/**
 * Reads of the engine that fail (daemon restarting, socket gone) are a 503 with Retry-After for
 * the caller - a wake or GET /deploy during a Docker outage - not an internal error.
 */
export async function engine<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof SpawnerError) throw err;
    throw new SpawnerError('runtime_unavailable', 'the container engine is not answering; retry shortly', undefined, 5);
  }
}
