/**
 * The port to the container engine. Only runtime/docker*.ts imports dockerode; the domain and its
 * unit tests see this interface (FakeRuntime implements it in memory). Kept free of Docker-only
 * notions, so other backends implement it: runtime/swarm.ts (a replicated service per instance,
 * scaled 0 <-> 1) and, later, Kubernetes (a Deployment scaled 0 <-> 1).
 *
 * "Container" here means the instance's WORKLOAD: the thing create() returns an id for, that
 * start/stop/inspect/watch talk about. On Docker it is a container; on Swarm it is a service,
 * whose running task's container is an implementation detail of the adapter (its address and
 * health show in ContainerInfo). Edge containers (Traefik, the spawner) are plain containers on
 * every backend; connect/disconnect/selfContainerId are about them.
 */
export type ContainerState =
  | 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export type HealthState = 'none' | 'starting' | 'healthy' | 'unhealthy';

export interface ResourceLimits {
  memoryBytes: number;
  nanoCpus: number;
  pids: number;
}

export interface ContainerSpec {
  /** Deterministic container name, so a crash between create and insert can be reconciled. */
  name: string;
  /**
   * The container's hostname: the instance name, as the original spawner set it (its apps and
   * scripts report and look for it). Absent: the engine's default (the short container id).
   */
  hostname?: string;
  image: string;
  /**
   * Networks the container joins, the first being the one it is reached on (routed, probed);
   * every one is joined before the container starts.
   */
  networks: string[];
  labels: Record<string, string>;
  env: Record<string, string>;
  limits: ResourceLimits;
  stopTimeoutSec: number;
  /** Named volumes mounted into the container (never host paths: bind mounts are not in the port). */
  mounts?: VolumeMount[];
}

/** A named volume at a path inside the container. A Swarm service spec takes the same shape. */
export interface VolumeMount {
  type: 'volume';
  /** The volume's name (VolumeInfo.name). */
  source: string;
  /** Absolute path inside the container. */
  target: string;
}

export interface VolumeSpec {
  name: string;
  labels: Record<string, string>;
}

export interface VolumeInfo {
  name: string;
  labels: Record<string, string>;
  /** ISO 8601, when the engine reports it. */
  createdAt?: string;
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  /** Content-addressed id of the image it runs (sha256:…), when the engine tells. */
  imageId?: string;
  state: ContainerState;
  health: HealthState;
  hasHealthcheck: boolean;
  labels: Record<string, string>;
  /** IP address per attached network name. */
  ips: Record<string, string>;
  startedAt?: string;
  exitCode?: number;
}

export interface NetworkSpec {
  name: string;
  labels: Record<string, string>;
  /** No route out of the network (no egress); members still reach each other. */
  internal: boolean;
  /** CIDR to use; undefined lets the engine pick from its own pools. */
  subnet?: string;
}

export interface NetworkInfo {
  id: string;
  name: string;
  labels: Record<string, string>;
  internal: boolean;
  subnet?: string;
  /** Ids of the containers attached right now. */
  members: string[];
}

export type RuntimeEventKind = 'create' | 'start' | 'die' | 'stop' | 'destroy' | 'health';

export interface RuntimeEvent {
  kind: RuntimeEventKind;
  /** The workload's id as create() returned it (a container id, or a Swarm service id). */
  id: string;
  name: string;
  labels: Record<string, string>;
  health?: HealthState;
  /** Epoch milliseconds. */
  time: number;
}

/** An image on the engine, as the catalogue shows it (GET /runtimes). */
export interface ImageInfo {
  /** Content-addressed id (sha256:...). */
  id: string;
  /** Every name:tag the engine knows this image by. */
  refs: string[];
  sizeBytes: number;
  /** ISO 8601. */
  created: string;
  labels: Record<string, string>;
  /** TCP ports the image declares (EXPOSE), ascending. */
  ports: number[];
  /** The image's HEALTHCHECK; null when it has none (or HEALTHCHECK NONE). */
  healthcheck: { test: string[]; intervalSec?: number; timeoutSec?: number; retries?: number } | null;
}

export interface PullOptions {
  timeoutMs: number;
  onProgress?: (line: string) => void;
}

export interface ContainerRuntime {
  /** Negotiated engine API version, e.g. "1.41". */
  apiVersion(): Promise<string>;
  ping(): Promise<void>;
  imageExists(ref: string): Promise<boolean>;
  /** Every tagged image on the engine (untagged, dangling layers are left out). */
  listImages(): Promise<ImageInfo[]>;
  pullImage(ref: string, opts: PullOptions): Promise<void>;
  networkExists(name: string): Promise<boolean>;
  /**
   * Creates a network. Throws NetworkConflictError when `subnet` overlaps another network's (the
   * caller picks another one), before anything is created; a name already taken is a 409 like a
   * container name.
   */
  createNetwork(spec: NetworkSpec): Promise<string>;
  /**
   * Idempotent: a missing network succeeds. Members are disconnected first (a network with
   * members cannot be removed), so callers stop or remove the instance before.
   */
  removeNetwork(name: string): Promise<void>;
  /** null when the network does not exist. */
  inspectNetwork(name: string): Promise<NetworkInfo | null>;
  /** Networks carrying every given label (key=value). */
  listNetworks(labels: Record<string, string>): Promise<NetworkInfo[]>;
  /** Idempotent: a container already attached succeeds. `aliases`: its DNS names on that network. */
  connect(network: string, containerId: string, aliases?: string[]): Promise<void>;
  /**
   * Idempotent: a container not attached, or a network that no longer exists (the container's
   * stale reference to it is dropped), succeeds.
   */
  disconnect(network: string, containerId: string): Promise<void>;
  /**
   * Creates a named volume and returns the volume now under that name. An engine may hand back an
   * existing volume of that name unchanged (Docker does), so callers compare its labels.
   */
  createVolume(spec: VolumeSpec): Promise<VolumeInfo>;
  /** null when the volume does not exist. */
  inspectVolume(name: string): Promise<VolumeInfo | null>;
  /** Volumes carrying every given label (key=value). */
  listVolumes(labels: Record<string, string>): Promise<VolumeInfo[]>;
  /** Idempotent: a missing volume succeeds. Throws VolumeInUseError while a container uses it. */
  removeVolume(name: string): Promise<void>;
  /** The id of the container this process runs in, or null when it runs outside one. */
  selfContainerId(): Promise<string | null>;
  create(spec: ContainerSpec): Promise<string>;
  /**
   * Idempotent: starting a running container succeeds. Resolves once the workload is running
   * (inspect then says `running` with its addresses): immediately on Docker, once the task is
   * running on Swarm (which also means healthy when the image has a HEALTHCHECK).
   */
  start(id: string): Promise<void>;
  /** Idempotent: stopping a stopped container succeeds. Resolves once nothing of it runs. */
  stop(id: string, timeoutSec: number): Promise<void>;
  /** Idempotent: removing a missing container succeeds. */
  remove(id: string): Promise<void>;
  /** null when the container does not exist. */
  inspect(idOrName: string): Promise<ContainerInfo | null>;
  /** Containers carrying every given label (key=value). */
  list(labels: Record<string, string>): Promise<ContainerInfo[]>;
  /**
   * Bytes the running container has sent on its networks since it started (loopback excluded);
   * null when it is not running. Optional: the idle reaper uses it to see open streams (Traefik v3
   * counts a request only when it ends); without it only request counters are used.
   */
  networkTxBytes?(id: string): Promise<number | null>;
  /**
   * The kernel's TCP socket table (/proc/net/tcp then /proc/net/tcp6) of the running container's
   * network namespace, read by a throw-away container of `image` that shares the namespace and
   * removes itself. Throws when it cannot be read within `timeoutMs`. Optional, like
   * networkTxBytes: the idle reaper uses it to see open connections before a stop.
   */
  readSocketTable?(id: string, image: string, timeoutMs: number): Promise<string>;
  /**
   * Streams events of containers carrying the given labels until the signal aborts. Reconnects
   * with capped backoff; onReconnect is called after every (re)connection so the caller can rescan.
   */
  watch(
    labels: Record<string, string>,
    onEvent: (e: RuntimeEvent) => void,
    opts: { signal: AbortSignal; onReconnect?: () => void; onError?: (err: unknown) => void },
  ): void;
}

/** A requested subnet overlaps one the engine already uses: pick another. */
export class NetworkConflictError extends Error {
  constructor(subnet: string) {
    super(`subnet ${subnet} overlaps an existing network`);
    this.name = 'NetworkConflictError';
  }
}

/** A volume cannot be removed while a container (running or not) still references it. */
export class VolumeInUseError extends Error {
  constructor(name: string) {
    super(`volume ${name} is in use by a container`);
    this.name = 'VolumeInUseError';
  }
}
