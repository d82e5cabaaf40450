/**
 * Pure mapping between Docker Swarm API shapes and the runtime port (runtime/swarm.ts makes the
 * calls). An instance is a replicated service scaled 0 <-> 1; its running task's container is
 * what Traefik's swarm provider routes to and what the readiness gate probes.
 */
import type { ContainerInfo, ContainerSpec, ContainerState, HealthState, RuntimeEvent } from './types.js';

/** The same capabilities DockerRuntime drops from instance containers. */
export const SWARM_CAP_DROP = ['CAP_NET_RAW', 'CAP_SYS_CHROOT', 'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP'];

export interface ServiceSpecOptions {
  /** The Healthcheck for the task (image's, with a fast StartInterval), or undefined: the image's. */
  healthcheck?: Record<string, unknown>;
  replicas: number;
  /** The node whose engine holds the instance's volumes: its tasks may run nowhere else. */
  pinTo?: string;
}

/** Swarm's limit on a service name (a DNS label). */
export const SERVICE_NAME_MAX = 63;

/**
 * The service name for a container name. Swarm wants a DNS label (`[A-Za-z0-9]` runs joined by
 * `-` or `_`, at most 63 characters); a revision's container name is `<name>.r<n>`, and a dot is
 * no DNS label character: it becomes `_`, which no instance name has (so `a.r2` and an instance
 * named `a-r2` stay apart). Too long is refused here, before Swarm says it less clearly.
 */
export function serviceName(containerName: string): string {
  const name = containerName.replace(/\./g, '_');
  if (!/^[A-Za-z0-9](?:[-_]*[A-Za-z0-9]+)*$/.test(name)) throw new Error(`${containerName} cannot be a Swarm service name (a DNS label of letters, digits, '-' and '_')`);
  if (name.length > SERVICE_NAME_MAX) throw new Error(`service name ${name} is longer than Swarm's ${SERVICE_NAME_MAX} characters`);
  return name;
}

/**
 * The whole service spec of an instance. Hardened by construction like a container create:
 * nothing here comes from the request except validated limits, env, labels and the image.
 * - labels go on the SERVICE (Traefik's swarm provider reads those, not the task's);
 * - `dnsrr`: no virtual IP (IPVS, which this kind of host may lack) and Traefik reaches the
 *   task's own address, which is what the provider hands out anyway without lbswarm;
 * - restart `none`: a crashed app stays down like a container with restart policy `no` (the
 *   wake listener starts it again on the next request); Swarm would otherwise loop it.
 */
export function serviceSpec(spec: ContainerSpec, opts: ServiceSpecOptions): Record<string, unknown> {
  if (spec.networks.length === 0) throw new Error('a service needs a network');
  return {
    Name: serviceName(spec.name),
    Labels: spec.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        ...(spec.hostname ? { Hostname: spec.hostname } : {}),
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        StopGracePeriod: spec.stopTimeoutSec * 1e9,
        Init: true,
        CapabilityDrop: SWARM_CAP_DROP,
        Privileges: { NoNewPrivileges: true },
        ...(opts.healthcheck ? { Healthcheck: opts.healthcheck } : {}),
        // Named volumes only, as on one host: the port cannot say "a host path".
        ...(spec.mounts?.length ? { Mounts: spec.mounts.map((m) => ({ Type: 'volume', Source: m.source, Target: m.target, ReadOnly: false })) } : {}),
      },
      Resources: {
        Limits: { MemoryBytes: spec.limits.memoryBytes, NanoCPUs: spec.limits.nanoCpus, Pids: spec.limits.pids },
      },
      RestartPolicy: { Condition: 'none' },
      // A managed volume is local to one node (a task elsewhere would get an empty one of that name).
      ...(opts.pinTo ? { Placement: { Constraints: [`node.id==${opts.pinTo}`] } } : {}),
      Networks: spec.networks.map((n) => ({ Target: n, ...(spec.hostname ? { Aliases: [spec.hostname] } : {}) })),
    },
    Mode: { Replicated: { Replicas: opts.replicas } },
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

export interface TaskLike {
  ID: string;
  ServiceID?: string;
  NodeID?: string;
  CreatedAt?: string;
  DesiredState?: string;
  Status?: { State?: string; Timestamp?: string; Err?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
  NetworksAttachments?: { Network?: { Spec?: { Name?: string } }; Addresses?: string[] }[];
}

export interface ServiceLike {
  ID: string;
  Version?: { Index?: number };
  Spec?: {
    Name?: string;
    Labels?: Record<string, string> | null;
    Mode?: { Replicated?: { Replicas?: number } };
    TaskTemplate?: { ContainerSpec?: { Image?: string; Healthcheck?: { Test?: string[] } }; ForceUpdate?: number };
  };
  /** Swarm sets it at the first update of the spec (a scale-up is one): absent, never started. */
  PreviousSpec?: unknown;
}

/** Task states before `running` (Swarm holds `starting` until a HEALTHCHECK says healthy). */
const PRE_RUNNING = new Set(['new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting']);
const FAILED = new Set(['failed', 'rejected', 'orphaned']);

/** The task that speaks for the instance: the newest one Swarm wants running, else the newest. */
export function currentTask(tasks: TaskLike[]): TaskLike | undefined {
  const newest = [...tasks].sort((a, b) => (b.CreatedAt ?? '').localeCompare(a.CreatedAt ?? ''));
  return newest.find((t) => t.DesiredState === 'running') ?? newest[0];
}

export function isTaskRunning(t: TaskLike | undefined): boolean {
  return t?.DesiredState === 'running' && t.Status?.State === 'running';
}

/** A task that will never run (the wake fails with its error instead of waiting out the deadline). */
export function taskFailure(t: TaskLike | undefined): string | null {
  if (!t || !FAILED.has(t.Status?.State ?? '')) return null;
  return `task ${t.Status?.State}: ${t.Status?.Err ?? 'no reason given'}`.slice(0, 300);
}

/**
 * True while Swarm means a task of the service to run and it runs or is on its way up. A task it
 * shut down does not count: Swarm replaces it on a force update, and one stranded on a node that
 * died keeps reporting `running` until that node comes back (with restart condition `none`,
 * nothing else replaces it).
 */
export function anyTaskLive(tasks: TaskLike[]): boolean {
  return tasks.some((t) => (t.DesiredState ?? 'running') === 'running' && (t.Status?.State === 'running' || PRE_RUNNING.has(t.Status?.State ?? '')));
}

/** The tasks that still stand for a container, without those Swarm gave up on a node that is down. */
export function withoutStranded(tasks: TaskLike[], downNodes: ReadonlySet<string>): TaskLike[] {
  return tasks.filter((t) => !(t.DesiredState !== 'running' && t.NodeID !== undefined && downNodes.has(t.NodeID)));
}

function taskState(svc: ServiceLike, t: TaskLike | undefined): ContainerState {
  if (isTaskRunning(t)) return 'running';
  const wanted = svc.Spec?.Mode?.Replicated?.Replicas ?? 0;
  if (t?.DesiredState === 'running' && PRE_RUNNING.has(t.Status?.State ?? '')) return 'created';
  if (wanted > 0 && !t) return 'created';
  // No task, and the spec never updated: made and never scaled up, like a created container.
  if (!t && !svc.PreviousSpec) return 'created';
  return 'exited';
}

/**
 * Service + its tasks → the port's ContainerInfo. Health follows Swarm's own rule (a task with a
 * HEALTHCHECK is `running` only once healthy; an unhealthy one is killed), so it needs no access
 * to the task's node: running → healthy, starting → starting.
 */
export function toServiceInfo(svc: ServiceLike, tasks: TaskLike[]): ContainerInfo {
  const t = currentTask(tasks.filter((x) => x.ServiceID === undefined || x.ServiceID === svc.ID));
  const state = taskState(svc, t);
  const test = svc.Spec?.TaskTemplate?.ContainerSpec?.Healthcheck?.Test;
  const hasHealthcheck = Array.isArray(test) && test.length > 0 && test[0] !== 'NONE';
  let health: HealthState = 'none';
  if (hasHealthcheck && state === 'running') health = 'healthy';
  else if (hasHealthcheck && state === 'created' && t?.Status?.State === 'starting') health = 'starting';
  const ips: Record<string, string> = {};
  if (state === 'running') {
    for (const a of t?.NetworksAttachments ?? []) {
      const name = a.Network?.Spec?.Name;
      const addr = a.Addresses?.[0]?.split('/')[0];
      if (name && addr) ips[name] = addr;
    }
  }
  const exitCode = t?.Status?.ContainerStatus?.ExitCode;
  return {
    id: svc.ID,
    name: svc.Spec?.Name ?? '',
    image: svc.Spec?.TaskTemplate?.ContainerSpec?.Image ?? '',
    state,
    health,
    hasHealthcheck,
    labels: svc.Spec?.Labels ?? {},
    ips,
    ...(state === 'running' && t?.Status?.Timestamp ? { startedAt: t.Status.Timestamp } : {}),
    ...(state === 'exited' && exitCode !== undefined ? { exitCode } : {}),
  };
}

/** Swarm refuses an update whose version is not the current one (someone updated in between). */
export function isOutOfSequence(err: unknown): boolean {
  return /update out of sequence/i.test(String((err as { message?: string } | null)?.message ?? err));
}

/**
 * The events a change between two listings means: Swarm emits no task events (and service events
 * only on managers), so the adapter lists periodically and turns state changes into the port's
 * start/die/destroy events. `health` goes with `start` when the task has a HEALTHCHECK.
 */
export function diffInfos(prev: Map<string, ContainerInfo>, next: Map<string, ContainerInfo>, time: number): RuntimeEvent[] {
  const out: RuntimeEvent[] = [];
  const ev = (kind: RuntimeEvent['kind'], i: ContainerInfo, health?: HealthState): RuntimeEvent =>
    ({ kind, id: i.id, name: i.name, labels: i.labels, time, ...(health ? { health } : {}) });
  for (const [id, n] of next) {
    const p = prev.get(id);
    if (!p) out.push(ev('create', n));
    if (n.state === 'running' && p?.state !== 'running') {
      out.push(ev('start', n));
      if (n.hasHealthcheck) out.push(ev('health', n, n.health));
    } else if (n.state !== 'running' && p?.state === 'running') out.push(ev('die', n));
  }
  for (const [id, p] of prev) if (!next.has(id)) out.push(ev('destroy', p));
  return out;
}
