/**
 * Typed configuration. Every option has a flag (commander, see cli.ts), an env variable and a
 * default; OPTIONS below is the single table both the CLI and the README are written from.
 */
import { DEFAULT_HEALTH_START_INTERVAL_MS } from './runtime/docker-mapping.js';

export type RoutingMode = 'cookie' | 'host' | 'path';
export const ROUTING_MODES: readonly RoutingMode[] = ['cookie', 'host', 'path'];
/** Which engine runs instances: plain Docker containers, or Docker Swarm services scaled 0 <-> 1. */
export type RuntimeKind = 'docker' | 'swarm';
export const RUNTIME_KINDS: readonly RuntimeKind[] = ['docker', 'swarm'];

export interface Config {
  /**
   * The instance backend. Explicit, never auto-detected: an engine in swarm mode runs plain
   * containers just as well, and `docker swarm init` must not silently move every instance.
   */
  runtime: RuntimeKind;
  apiPort: number;
  apiHost: string;
  wakePort: number;
  wakeHost: string;
  dataDir: string;
  /** users file: lines "username,<hash>" where hash is hex sha256 (original) or scrypt$... */
  usersFile: string;
  authDisabled: boolean;
  /** static service token for a home app (value, or read from serviceTokenFile) */
  serviceToken?: string;
  tokenTtlSec: number;
  /** Unique id of this spawner installation; containers without it are never touched. */
  spawnerId?: string;
  /** Docker network instances join by default (the spawner's own network). */
  /** Container names are `${containerPrefix}${name}`: deterministic (crash recovery) and never
   *  equal to a compose service alias such as `spawner` (Docker DNS would then resolve both). */
  containerPrefix: string;
  /**
   * The control network: Traefik, the spawner and the home app share it; instances never join it.
   * Every instance gets its own network `<network>-<container name>` that only it and the edge
   * containers (Traefik, the spawner) join. A deploy naming this network gets just that.
   */
  network: string;
  /** Extra networks a deploy may name; the instance joins one IN ADDITION to its own network. */
  allowedNetworks: string[];
  /** Whether instance networks route out when a deploy does not say (`egress`). */
  egressDefault: boolean;
  /** Whether a deploy may ask for egress at all (false: every instance network is internal). */
  egressAllowed: boolean;
  /** IPv4 range instance networks take their subnets from ('' = the engine's own pools). */
  instanceSubnets: string;
  /** Prefix length of each instance network's subnet within instanceSubnets. */
  instanceSubnetPrefix: number;
  /** Globs, e.g. "mock-app:*". */
  allowedImages: string[];
  /** `image-glob=/path` entries: the managed volume's mount path for images that match. */
  volumeDefaults: string[];
  /** Image globs whose redeploys are stop-first unless the deploy or the redeploy says otherwise. */
  stopFirstImages: string[];
  pullTimeoutSec: number;
  cookieName: string;
  routing: RoutingMode;
  appsDomain: string;
  pathPrefix: string;
  /** Compatibility: the routing cookie value is the bare instance name (no secret). */
  bareNameCookies: boolean;
  /** Opt-in: callers may pass traefik.* labels scoped to their own instance. */
  allowTraefikLabels: boolean;
  entrypoint: string;
  /** Traefik service of the wake listener that instance routers send gateway errors to ('' = off). */
  recoverService: string;
  defaultPort: number;
  limits: { memoryMb: number; cpus: number; pids: number };
  caps: { memoryMb: number; cpus: number; pids: number };
  maxEnv: number;
  maxEnvBytes: number;
  maxLabels: number;
  maxLabelBytes: number;
  maxBodyBytes: number;
  stopTimeoutSec: number;
  traefikApiUrl: string;
  /** Where the spawner can send a request through Traefik's public entrypoint (probe 3). */
  traefikEntrypointUrl: string;
  probeThroughProxy: boolean;
  wakeDeadlineSec: number;
  maxConcurrentStarts: number;
  maxQueuedWakes: number;
  healthPath?: string;
  /**
   * Docker's health StartInterval for instances of a HEALTHCHECK image (API >= 1.44): how soon
   * after the app answers Docker says `healthy`, which Traefik waits for before routing.
   */
  healthStartIntervalMs: number;
  homeUrl: string;
  loopGuardRounds: number;
  idleTimeoutSec: number;
  idleCheckSec: number;
  /**
   * Image of the throw-away container that reads an instance's socket table before an idle stop
   * ('' = off: open connections are then seen only through the bytes the app sends).
   */
  socketProbeImage: string;
  /** Instances with their own status series on /metrics; the rest are summed (instances/stats-metrics.ts). */
  statusMetricsInstances: number;
  /** AES-256-GCM key for init data at rest (64 hex / base64); or SPAWNER_INIT_KEY_FILE. */
  initKey?: string;
  initDeadlineSec: number;
  initMaxPayloadBytes: number;
  initMaxResultBytes: number;
  /** URL of GET /.spawner/self as seen from inside an instance (given to it as SPAWNER_SELF_URL). */
  identityUrl: string;
  /** Public base URL of the entrypoint, for the URLs /.spawner/self reports ('' = relative). */
  publicUrl: string;
  /** Revisions kept per instance besides the active one (older superseded/failed ones are dropped). */
  revisionsKeep: number;
  /**
   * Directory Traefik's file provider watches (shared with Traefik): a redeploy writes its switch
   * route there. '' = redeploys of running instances are refused (start-first needs it).
   */
  traefikDynamicDir: string;
  /**
   * Write a self-signed default certificate for Traefik's default TLS store into traefikDynamicDir
   * at start-up (traefik/default-cert.ts: without one Traefik makes an RSA key on every change).
   */
  traefikDefaultCertificate: boolean;
  /** How long an old container may finish its in-flight requests after a switch (docker stop timeout). */
  drainDeadlineSec: number;
  rescanSec: number;
  shutdownGraceSec: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export const DEFAULTS: Config = {
  apiPort: 8008,
  apiHost: 'auto',
  wakePort: 8000,
  wakeHost: 'auto',
  runtime: 'docker',
  dataDir: './data',
  usersFile: './users.txt',
  authDisabled: false,
  tokenTtlSec: 86_400,
  containerPrefix: 'spawner-',
  network: 'spawner',
  allowedNetworks: [],
  egressDefault: true,
  egressAllowed: true,
  instanceSubnets: '10.208.0.0/12',
  instanceSubnetPrefix: 28,
  allowedImages: ['mock-app:*'],
  volumeDefaults: [],
  stopFirstImages: [],
  pullTimeoutSec: 120,
  cookieName: 'instance',
  routing: 'cookie',
  appsDomain: 'apps.localhost',
  pathPrefix: 'app',
  bareNameCookies: false,
  allowTraefikLabels: false,
  entrypoint: 'web',
  recoverService: 'spawner-wake@docker',
  defaultPort: 9000,
  limits: { memoryMb: 256, cpus: 0.5, pids: 256 },
  caps: { memoryMb: 2048, cpus: 2, pids: 1024 },
  maxEnv: 64,
  maxEnvBytes: 16_384,
  maxLabels: 32,
  maxLabelBytes: 8_192,
  maxBodyBytes: 65_536,
  stopTimeoutSec: 10,
  traefikApiUrl: 'http://traefik:8080',
  traefikEntrypointUrl: 'http://traefik:80',
  probeThroughProxy: true,
  healthStartIntervalMs: DEFAULT_HEALTH_START_INTERVAL_MS,
  wakeDeadlineSec: 60,
  maxConcurrentStarts: 8,
  maxQueuedWakes: 256,
  homeUrl: '/home',
  loopGuardRounds: 3,
  idleTimeoutSec: 0,
  idleCheckSec: 5,
  socketProbeImage: '',
  statusMetricsInstances: 100,
  initDeadlineSec: 60,
  initMaxPayloadBytes: 16_384,
  initMaxResultBytes: 65_536,
  identityUrl: 'http://traefik/.spawner/self',
  publicUrl: '',
  revisionsKeep: 10,
  traefikDynamicDir: '',
  traefikDefaultCertificate: true,
  drainDeadlineSec: 30,
  rescanSec: 30,
  shutdownGraceSec: 10,
  logLevel: 'info',
};
