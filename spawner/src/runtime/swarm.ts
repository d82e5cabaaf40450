/**
 * SwarmRuntime (SPAWNER_RUNTIME=swarm): each instance is a replicated Docker Swarm service scaled
 * 0 <-> 1 on an attachable overlay network of its own; Traefik's swarm provider routes its running
 * task. Images, networks' membership and the edge containers (Traefik, the spawner: plain
 * containers on a manager) go through DockerRuntime on the same engine.
 *
 * Facts this is built around (Swarm and Traefik's pswarm.go): service lists' `name` filter and
 * GET /services/{x} match prefixes, so lookups check the exact name; updates need the current
 * version index ("update out of sequence" otherwise: retried); there are no task events, so
 * watch() lists services and tasks periodically (and at once after every service event).
 */
import Docker from 'dockerode';
import type {
  ContainerInfo, ContainerRuntime, ContainerSpec, ImageInfo, NetworkInfo, NetworkSpec, PullOptions, RuntimeEvent, VolumeInfo, VolumeSpec,
} from './types.js';
import { DockerRuntime } from './docker.js';
import { healthcheckPlan, instanceHealthcheck, labelFilters } from './docker-mapping.js';
import {
  anyTaskLive, currentTask, diffInfos, isOutOfSequence, isTaskRunning, serviceSpec, taskFailure, toServiceInfo, withoutStranded,
  type ServiceLike, type TaskLike,
} from './swarm-mapping.js';
import { watchWithBackoff } from './watch.js';
import { OverlayAttacher } from './swarm-attach.js';
import { createOverlay, removeOverlay } from './swarm-overlays.js';
import { pollFor } from './poll.js';

/** A container Swarm made for a task: never an edge, never listed as one. */
const TASK_LABEL = 'com.docker.swarm.task.id';
const UPDATE_TRIES = 8;

/** How the runtime waits and watches (the health StartInterval is DockerRuntime's, passed through). */
export interface SwarmOptions {
  /** How often start/stop/remove look at the tasks while they wait. */
  taskPollMs?: number;
  /** Longest a start (task scheduled, image there, healthy) or a stop may take. */
  settleTimeoutMs?: number;
  /** Period of watch()'s service + task listing (it also runs right after each service event). */
  watchPollMs?: number;
  /** A watch listing that takes longer is abandoned (and reported): the next poll lists afresh. */
  listingTimeoutMs?: number;
  /**
   * A task's stop grace period is fixed when its service is made (stop() cannot pass one), so
   * services get the longest any stop asks for: a redeploy's drain of the old revision.
   */
  longestStopSec?: number;
}

const statusOf = (err: unknown) => (err as { statusCode?: number } | null)?.statusCode;

export class SwarmRuntime implements ContainerRuntime {
  private readonly docker: Docker;
  private readonly local: DockerRuntime;
  private readonly o: Required<SwarmOptions>;
  private readonly attacher: OverlayAttacher;

  constructor(docker?: Docker, opts: SwarmOptions & { healthStartIntervalMs?: number } = {}) {
    const { healthStartIntervalMs, ...waits } = opts;
    this.docker = docker ?? new Docker();
    this.local = new DockerRuntime(this.docker, { healthStartIntervalMs });
    this.attacher = new OverlayAttacher(this.local);
    this.o = { taskPollMs: 100, settleTimeoutMs: 120_000, watchPollMs: 2_000, listingTimeoutMs: 10_000, longestStopSec: 0, ...waits };
  }

  apiVersion(): Promise<string> { return this.local.apiVersion(); }
  ping(): Promise<void> { return this.local.ping(); }
  imageExists(ref: string): Promise<boolean> { return this.local.imageExists(ref); }
  listImages(): Promise<ImageInfo[]> { return this.local.listImages(); }
  pullImage(ref: string, opts: PullOptions): Promise<void> { return this.local.pullImage(ref, opts); }
  networkExists(name: string): Promise<boolean> { return this.local.networkExists(name); }
  createNetwork(spec: NetworkSpec): Promise<string> { return createOverlay(this.docker, spec); }
  removeNetwork(name: string): Promise<void> {
    return removeOverlay(this.local, name, { timeoutMs: this.o.settleTimeoutMs, pollMs: this.o.taskPollMs });
  }
  inspectNetwork(name: string): Promise<NetworkInfo | null> { return this.local.inspectNetwork(name); }
  listNetworks(labels: Record<string, string>): Promise<NetworkInfo[]> { return this.local.listNetworks(labels); }
  /** One at a time, again on Swarm's transient refusals (swarm-attach.ts). */
  connect(network: string, id: string, aliases?: string[]): Promise<void> { return this.attacher.connect(network, id, aliases); }
  disconnect(network: string, id: string): Promise<void> { return this.local.disconnect(network, id); }
  // Volumes are made on the node this engine is (the manager the spawner talks to); an instance
  // with one is pinned to that node (create()).
  createVolume(spec: VolumeSpec): Promise<VolumeInfo> { return this.local.createVolume(spec); }
  inspectVolume(name: string): Promise<VolumeInfo | null> { return this.local.inspectVolume(name); }
  listVolumes(labels: Record<string, string>): Promise<VolumeInfo[]> { return this.local.listVolumes(labels); }
  removeVolume(name: string): Promise<void> { return this.local.removeVolume(name); }
  selfContainerId(): Promise<string | null> { return this.local.selfContainerId(); }

  private nodeId: string | undefined;
  /** This engine's node in the swarm (where createVolume makes volumes). */
  private async localNodeId(): Promise<string> {
    this.nodeId ??= ((await this.docker.info()) as { Swarm?: { NodeID?: string } }).Swarm?.NodeID;
    if (!this.nodeId) throw new Error('this engine is not a swarm node: no node to pin a volume to');
    return this.nodeId;
  }

  /** The service, at 0 replicas: start() scales it up (the domain creates, then starts). */
  async create(spec: ContainerSpec): Promise<string> {
    const plan = healthcheckPlan(await this.apiVersion());
    const image = await this.docker.getImage(spec.image).inspect();
    const hc = image.Config?.Healthcheck as Record<string, unknown> | undefined;
    // The image's HEALTHCHECK copied onto the service (with a fast StartInterval where the engine
    // has it), so inspect() knows it has one without reaching the task's node.
    const healthcheck = instanceHealthcheck(plan, hc, this.local.healthStartIntervalNs()) ?? (hc && (hc.Test as string[] | undefined)?.[0] !== 'NONE' ? hc : undefined);
    const pinTo = spec.mounts?.length ? await this.localNodeId() : undefined;
    const created = (await this.docker.createService(serviceSpec({ ...spec, stopTimeoutSec: Math.max(spec.stopTimeoutSec, this.o.longestStopSec) }, { replicas: 0, healthcheck, pinTo }) as Docker.CreateServiceOptions)) as unknown as { id?: string; ID?: string };
    return String(created.id ?? created.ID);
  }

  /**
   * Scale to 1 and wait for the running task. A task that fails (it ran and exited; not one
   * Swarm rejected) gets one successor: a node that has just come back fails its first tasks while
   * it rebuilds its overlays, and restart condition `none` makes Swarm itself try no other.
   */
  async start(id: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await this.scale(id, 1);
      let failedTask = false;
      try {
        await this.settle(id, (tasks) => {
          const t = currentTask(tasks);
          const failed = taskFailure(t);
          failedTask = t?.Status?.State === 'failed';
          if (failed) throw new Error(failed);
          return isTaskRunning(t);
        });
        return;
      } catch (err) {
        if (!failedTask || attempt >= 1) throw err;
      }
    }
  }

  async stop(id: string, _timeoutSec: number): Promise<void> {
    // The grace period is the service's StopGracePeriod (set at create: SwarmOptions.longestStopSec).
    if (!(await this.scale(id, 0))) return;
    // Until Swarm has removed the task, not just stopped it: a scale-up while the old task is
    // still being removed creates no new task (seen on Docker 29; swarmkit reuses the slot). A
    // task stranded on a node that is down goes only when the node is back: not waited for.
    await this.settle(id, (tasks) => tasks.length === 0, async () => this.holding(await this.tasks(id)));
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getService(id).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      return;
    }
    // Tasks go asynchronously; the instance network cannot be removed while one is attached. The
    // service is gone, so its tasks are found in the whole list (a service filter would 404).
    const orphans = async () => this.holding(((await this.docker.listTasks()) as TaskLike[]).filter((t) => t.ServiceID === id));
    await this.settle(id, (tasks) => tasks.length === 0, orphans);
    // A task's container on this node outlives the task a moment, and holds the instance's volume
    // (volumes are on this node) until it goes: a purge right after would find it in use.
    const filters = { label: [`com.docker.swarm.service.id=${id}`] };
    await pollFor(`service ${id.slice(0, 12)}: its task's container is still on this node`,
      async () => ((await this.docker.listContainers({ all: true, filters })) as unknown[]).length === 0,
      { timeoutMs: this.o.settleTimeoutMs, pollMs: this.o.taskPollMs });
  }

  async inspect(idOrName: string): Promise<ContainerInfo | null> {
    const svc = await this.findService(idOrName);
    if (svc) return toServiceInfo(svc, await this.tasks(svc.ID));
    const c = await this.local.inspect(idOrName);
    return c && !c.labels[TASK_LABEL] ? c : null;
  }

  async list(labels: Record<string, string>): Promise<ContainerInfo[]> {
    const [services, containers] = await Promise.all([this.listServices(labels), this.local.list(labels)]);
    return [...services, ...containers.filter((c) => !c.labels[TASK_LABEL])];
  }

  /**
   * The idle reaper's two readings, from the running task's container when it runs on this
   * spawner's node (the engine it talks to); on another node: null / a throw, and the reaper
   * decides on Traefik's request counters alone (it logs that).
   */
  async networkTxBytes(id: string): Promise<number | null> {
    const c = await this.taskContainer(id);
    return c ? this.local.networkTxBytes(c) : null;
  }

  async readSocketTable(id: string, image: string, timeoutMs: number): Promise<string> {
    const c = await this.taskContainer(id);
    if (!c) throw new Error(`service ${id.slice(0, 12)} has no running task`);
    return this.local.readSocketTable(c, image, timeoutMs);
  }

  private async taskContainer(serviceId: string): Promise<string | null> {
    const t = currentTask(await this.tasks(serviceId));
    return isTaskRunning(t) ? (t?.Status?.ContainerStatus?.ContainerID ?? null) : null;
  }

  /** Service events and a periodic listing for the instances; container events for the edges. */
  watch(
    labels: Record<string, string>,
    onEvent: (e: RuntimeEvent) => void,
    opts: { signal: AbortSignal; onReconnect?: () => void; onError?: (err: unknown) => void },
  ): void {
    this.local.watch(labels, (e) => { if (!e.labels[TASK_LABEL]) onEvent(e); }, opts);
    let known: Map<string, ContainerInfo> | null = null;
    let running: Promise<void> | null = null;
    const poll = () => {
      // Bounded: one hung listing must not hold every later poll (they share the one in flight).
      running ??= this.listServices(labels, AbortSignal.timeout(this.o.listingTimeoutMs)).then((infos) => {
        const next = new Map(infos.map((i) => [i.id, i]));
        if (known) for (const e of diffInfos(known, next, Date.now())) onEvent(e);
        known = next; // the first listing is the baseline: the caller rescans on connect anyway
      }).catch((err: unknown) => opts.onError?.(err)).finally(() => { running = null; });
      return running;
    };
    const timer = setInterval(() => { void poll(); }, this.o.watchPollMs);
    opts.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    void poll();
    watchWithBackoff({
      connect: async (signal) => (await this.docker.getEvents({
        filters: { type: ['service'] }, abortSignal: signal,
      } as Docker.GetEventsOptions)) as NodeJS.ReadableStream,
      onLine: () => { void poll(); },
      signal: opts.signal,
      onError: opts.onError,
    });
  }

  private async listServices(labels: Record<string, string>, abortSignal?: AbortSignal): Promise<ContainerInfo[]> {
    const services = (await this.docker.listServices({ filters: { label: labelFilters(labels) }, abortSignal })) as unknown as ServiceLike[];
    if (services.length === 0) return [];
    // One listing of every task, grouped by service: cheaper than one call per service.
    const tasks = (await this.docker.listTasks({ abortSignal })) as TaskLike[];
    const by = new Map<string, TaskLike[]>();
    for (const t of tasks) if (t.ServiceID) by.set(t.ServiceID, [...(by.get(t.ServiceID) ?? []), t]);
    return services.map((s) => toServiceInfo(s, by.get(s.ID) ?? []));
  }

  /** Exact id or exact name only: Swarm's own lookups also match prefixes (`u1` finds `u10`). */
  private async findService(idOrName: string): Promise<ServiceLike | null> {
    try {
      const s = (await this.docker.getService(idOrName).inspect()) as ServiceLike;
      if (s.ID === idOrName || s.Spec?.Name === idOrName) return s;
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    const named = (await this.docker.listServices({ filters: { name: [idOrName] } })) as unknown as ServiceLike[];
    return named.find((s) => s.Spec?.Name === idOrName) ?? null;
  }

  private async tasks(serviceId: string): Promise<TaskLike[]> {
    try {
      const tasks = (await this.docker.listTasks({ filters: { service: [serviceId] } })) as TaskLike[];
      return tasks.filter((t) => t.ServiceID === serviceId);
    } catch (err) {
      if (statusOf(err) === 404) return []; // the service is gone, and so are its tasks
      throw err;
    }
  }

  /**
   * Sets the replica count (false: it was there already and nothing runs that should not). A
   * service at 1 whose task ended (crash; restart policy none) is force-updated: a fresh task.
   * Retries with the new version index when someone else updated in between.
   */
  private async scale(id: string, replicas: number): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      let svc: ServiceLike & { Spec: Record<string, unknown> };
      try {
        svc = (await this.docker.getService(id).inspect()) as typeof svc;
      } catch (err) {
        if (statusOf(err) === 404 && replicas === 0) return false; // gone: nothing runs
        throw err;
      }
      const spec = structuredClone(svc.Spec) as NonNullable<ServiceLike['Spec']> & Record<string, unknown>;
      const current = spec.Mode?.Replicated?.Replicas ?? 0;
      const force = replicas === 1 && current === 1 && !anyTaskLive(await this.tasks(id));
      if (current === replicas && !force) return replicas === 0 ? (await this.tasks(id)).length > 0 : true;
      spec.Mode = { Replicated: { Replicas: replicas } };
      if (force && spec.TaskTemplate) spec.TaskTemplate.ForceUpdate = (spec.TaskTemplate.ForceUpdate ?? 0) + 1;
      try {
        // dockerode puts a plain options object in the query string; _query/_body split them.
        await this.docker.getService(id).update({ _query: { version: svc.Version?.Index }, _body: spec } as never);
        return true;
      } catch (err) {
        if (!isOutOfSequence(err) || attempt >= UPDATE_TRIES) throw err;
      }
    }
  }

  /** The tasks, without those stranded on a node that is down (the node listing only when one may be). */
  private async holding(tasks: TaskLike[]): Promise<TaskLike[]> {
    if (!tasks.some((t) => t.DesiredState !== 'running' && t.NodeID)) return tasks;
    const nodes = (await this.docker.listNodes()) as { ID: string; Status?: { State?: string } }[];
    return withoutStranded(tasks, new Set(nodes.filter((n) => n.Status?.State !== 'ready').map((n) => n.ID)));
  }

  /** Polls the service's tasks until `done` says so (or throws), within settleTimeoutMs. */
  private settle(id: string, done: (tasks: TaskLike[]) => boolean, list = () => this.tasks(id)): Promise<void> {
    return pollFor(`service ${id.slice(0, 12)} did not settle`, async () => done(await list()), { timeoutMs: this.o.settleTimeoutMs, pollMs: this.o.taskPollMs });
  }
}
