/**
 * A throw-away stack per test file on the real Docker engine: a network, Traefik (Docker provider,
 * exposedByDefault=false, constrained to this run's spawner id, throttle lowered) and the spawner
 * container with the Docker socket. Ports are published on 127.0.0.1 only. Every container,
 * network and volume carries RUN_LABEL=<runId>; teardown removes them by label, and also every
 * instance container of this run's spawner id, even when the test failed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { IMAGES } from './docker-env.js';
import { pollUntil } from './poll.js';
import { traefikFlags } from './traefik-flags.js';

export const RUN_LABEL = 'spawner-test.run';
export const docker = new Docker();
/**
 * The engine's socket on this host (DOCKER_HOST, else the default): the one the stack's containers
 * get mounted. Mounting /var/run/docker.sock instead would hand a stack on a second engine (the
 * current engine of scripts/ensure-current-engine.sh) the other engine's socket.
 */
export const ENGINE_SOCKET = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice(7) : '/var/run/docker.sock';

export interface Stack {
  runId: string;
  spawnerId: string;
  network: string;
  /** Traefik's public entrypoint on 127.0.0.1. */
  web: string;
  /** Traefik's API on 127.0.0.1. */
  traefikApi: string;
  /** The deploy API on 127.0.0.1. */
  api: string;
  /** The wake listener published directly (for tests that bypass Traefik). */
  wake: string;
  user: { username: string; password: string };
  serviceToken: string;
  spawner: Docker.Container;
  traefik: Docker.Container;
  /**
   * Restart the spawner container (same data volume). `whileStopped` runs after the spawner is
   * down and before it starts again (e.g. to leave behind what a crash would have left).
   */
  restartSpawner(signal?: 'SIGKILL' | 'SIGTERM', opts?: { whileStopped?: () => Promise<void> }): Promise<void>;
  /** Start the spawner container again after the test stopped or killed it itself; waits for /healthz. */
  startSpawner(): Promise<void>;
  /** Stop Traefik (`docker stop`); `web` and `traefikApi` are unusable until startTraefik(). */
  stopTraefik(timeoutSec?: number): Promise<void>;
  /** Start Traefik again, re-read its published ports (they change) and wait for /ping. */
  startTraefik(): Promise<void>;
  /** Re-read both containers' published ports (after something else restarted them) and wait for them. */
  republish(): Promise<void>;
  teardown(): Promise<void>;
}

export interface StackOptions {
  env?: Record<string, string>;
  /** Extra Traefik flags. */
  traefikArgs?: string[];
  /**
   * A host directory mounted into the spawner at /var/run/spawner-docker; the spawner then reaches
   * the engine at `<dir>/docker.sock` (DOCKER_HOST), e.g. a proxy the test can cut. Mounting a
   * directory rather than the socket file also survives a daemon restart (which replaces the file).
   */
  spawnerDockerDir?: string;
  /** The same for Traefik's Docker provider. */
  traefikDockerDir?: string;
  /** Restart policy of the stack's own containers (Traefik, spawner); default none. */
  restartPolicy?: 'no' | 'always' | 'unless-stopped';
}

const SPAWNER_DOCKER_DIR = '/var/run/spawner-docker';

function hostPort(info: Docker.ContainerInspectInfo, port: string): number {
  const b = info.NetworkSettings.Ports[port]?.[0];
  if (!b) throw new Error(`port ${port} not published`);
  return Number(b.HostPort);
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const runId = `e2e${randomBytes(4).toString('hex')}`;
  const spawnerId = createHash('sha256').update(runId).digest('hex').slice(0, 32);
  const labels = { [RUN_LABEL]: runId };
  const network = `spawner-${runId}`;
  const dir = mkdtempSync(join(tmpdir(), `spawner-${runId}-`));
  const user = { username: 'alice', password: randomBytes(8).toString('hex') };
  const usersFile = join(dir, 'users.txt');
  // The original spawner's format: username,<hex sha256 of the password>.
  writeFileSync(usersFile, `${user.username},${createHash('sha256').update(user.password).digest('hex')}\n`, { mode: 0o644 });
  const serviceToken = randomBytes(24).toString('hex');
  const teardown = () => teardownRun(runId, spawnerId).finally(() => rmSync(dir, { recursive: true, force: true }));
  try {
    await docker.createNetwork({ Name: network, Labels: labels, CheckDuplicate: true });
    await docker.createVolume({ Name: `${network}-data`, Labels: labels });
    // Traefik's file provider directory, shared with the spawner (a redeploy's switch route).
    await docker.createVolume({ Name: `${network}-dynamic`, Labels: labels });
    const traefik = await docker.createContainer({
      name: `${network}-traefik`,
      Image: IMAGES.traefik,
      // An edge container: the spawner puts it on every instance network of this spawner id.
      // `traefik` on every instance network too: instances reach the public entrypoint by that name
      // (SPAWNER_SELF_URL is http://traefik/.spawner/self).
      Labels: { ...labels, 'spawner.edge': 'true', 'spawner.edge.aliases': 'traefik', 'spawner.id': spawnerId },
      Cmd: traefikFlags(network, spawnerId, opts.traefikDockerDir ? `unix://${SPAWNER_DOCKER_DIR}/docker.sock` : undefined, opts.traefikArgs),
      ExposedPorts: { '80/tcp': {}, '8080/tcp': {} },
      HostConfig: {
        NetworkMode: network,
        Binds: [
          opts.traefikDockerDir ? `${opts.traefikDockerDir}:${SPAWNER_DOCKER_DIR}` : `${ENGINE_SOCKET}:/var/run/docker.sock:ro`,
          `${network}-dynamic:/etc/traefik/dynamic:ro`,
        ],
        ...(opts.restartPolicy ? { RestartPolicy: { Name: opts.restartPolicy } } : {}),
        PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }], '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      },
      // `traefik-api` only here: `traefik` is also its alias on every instance network, and where
      // the embedded DNS answers from an instance network first (overlays, Swarm) the spawner
      // would dial the API on an address it does not listen on (the swarm e2e test uses this one).
      NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: ['traefik', 'traefik-api'] } } },
    });
    await traefik.start();
    const spawner = await docker.createContainer({
      name: `${network}-spawner`,
      Image: IMAGES.spawner,
      Labels: {
        ...labels,
        // The catch-all: lowest priority, so any instance router wins while it exists.
        'spawner.id': spawnerId,
        'spawner.edge': 'true',
        'traefik.enable': 'true',
        'traefik.docker.network': network,
        'traefik.http.routers.spawner-wake.rule': 'PathPrefix(`/`)',
        'traefik.http.routers.spawner-wake.priority': '1',
        'traefik.http.routers.spawner-wake.entrypoints': 'web',
        'traefik.http.routers.spawner-wake.service': 'spawner-wake',
        'traefik.http.services.spawner-wake.loadbalancer.server.port': '8000',
        // The spawner's own paths (/.spawner/…: recovery, app-error page, wake stream) on every
        // host, above every instance router.
        'traefik.http.routers.spawner-own.rule': 'PathPrefix(`/.spawner/`)',
        'traefik.http.routers.spawner-own.priority': '1000000',
        'traefik.http.routers.spawner-own.entrypoints': 'web',
        'traefik.http.routers.spawner-own.service': 'spawner-wake',
      },
      Env: Object.entries({
        SPAWNER_USERS_FILE: '/etc/spawner/users.txt',
        SPAWNER_SERVICE_TOKEN: serviceToken,
        SPAWNER_DATA_DIR: '/data',
        SPAWNER_NETWORK: network,
        SPAWNER_SPAWNER_ID: spawnerId,
        SPAWNER_CONTAINER_PREFIX: `${runId}-`,
        SPAWNER_ALLOWED_IMAGES: 'mock-app:*',
        SPAWNER_TRAEFIK_API_URL: 'http://traefik:8080',
        SPAWNER_TRAEFIK_ENTRYPOINT_URL: 'http://traefik:80',
        SPAWNER_SOCKET_PROBE_IMAGE: IMAGES.spawner,
        SPAWNER_LOG_LEVEL: 'debug',
        SPAWNER_TRAEFIK_DYNAMIC_DIR: '/var/run/spawner-traefik',
        ...(opts.spawnerDockerDir ? { DOCKER_HOST: `unix://${SPAWNER_DOCKER_DIR}/docker.sock` } : {}),
        ...opts.env,
      }).map(([k, v]) => `${k}=${v}`),
      ExposedPorts: { '8008/tcp': {}, '8000/tcp': {} },
      HostConfig: {
        NetworkMode: network,
        Binds: [
          opts.spawnerDockerDir ? `${opts.spawnerDockerDir}:${SPAWNER_DOCKER_DIR}` : `${ENGINE_SOCKET}:/var/run/docker.sock`,
          `${usersFile}:/etc/spawner/users.txt:ro`, `${network}-data:/data`, `${network}-dynamic:/var/run/spawner-traefik`,
        ],
        ...(opts.restartPolicy ? { RestartPolicy: { Name: opts.restartPolicy } } : {}),
        PortBindings: { '8008/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }], '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      },
    });
    await spawner.start();
    const ti = await traefik.inspect();
    const stack: Stack = {
      runId, spawnerId, network, user, serviceToken, spawner, traefik,
      web: `http://127.0.0.1:${hostPort(ti, '80/tcp')}`,
      traefikApi: `http://127.0.0.1:${hostPort(ti, '8080/tcp')}`,
      api: '', wake: '',
      restartSpawner: async (signal = 'SIGTERM', ropts = {}) => {
        if (signal === 'SIGKILL') await spawner.kill({ signal });
        else await spawner.stop({ t: 10 });
        await ropts.whileStopped?.();
        await spawner.start();
        await publishSpawner(stack);
      },
      startSpawner: async () => {
        await spawner.wait({ condition: 'not-running' });
        await spawner.start();
        await publishSpawner(stack);
      },
      stopTraefik: async (timeoutSec = 2) => { await traefik.stop({ t: timeoutSec }); },
      startTraefik: async () => {
        await traefik.start();
        await publishTraefik(stack);
      },
      republish: async () => {
        await publishTraefik(stack);
        await publishSpawner(stack);
      },
      teardown,
    };
    await publishSpawner(stack);
    await pollUntil('traefik ping', async () => ((await fetch(`${stack.traefikApi}/ping`, { signal: AbortSignal.timeout(2_000) })).ok ? true : undefined));
    return stack;
  } catch (err) {
    await teardown();
    throw err;
  }
}

async function publishTraefik(stack: Stack): Promise<void> {
  const ti = await stack.traefik.inspect();
  stack.web = `http://127.0.0.1:${hostPort(ti, '80/tcp')}`;
  stack.traefikApi = `http://127.0.0.1:${hostPort(ti, '8080/tcp')}`;
  await pollUntil('traefik ping', async () => ((await fetch(`${stack.traefikApi}/ping`, { signal: AbortSignal.timeout(2_000) })).ok ? true : undefined));
}

/** Host ports change when a container restarts; re-read them and wait for /healthz. */
async function publishSpawner(stack: Stack): Promise<void> {
  const si = await stack.spawner.inspect();
  stack.api = `http://127.0.0.1:${hostPort(si, '8008/tcp')}`;
  stack.wake = `http://127.0.0.1:${hostPort(si, '8000/tcp')}`;
  await pollUntil('spawner healthz', async () => ((await fetch(`${stack.api}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok ? true : undefined), { timeoutMs: 30_000 });
}

export async function teardownRun(runId: string, spawnerId: string): Promise<void> {
  const byLabel = async (label: string) => docker.listContainers({ all: true, filters: { label: [label] } });
  const containers = [...(await byLabel(`spawner.id=${spawnerId}`)), ...(await byLabel(`${RUN_LABEL}=${runId}`))];
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  // The run's control network, and the instance networks its spawner made (once their edge
  // containers are gone, nothing is attached to them any more).
  const nets = [
    ...(await docker.listNetworks({ filters: { label: [`${RUN_LABEL}=${runId}`] } })),
    ...(await docker.listNetworks({ filters: { label: [`spawner.id=${spawnerId}`] } })),
  ];
  await Promise.all(nets.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
  // The run's own volumes, and the instance data volumes its spawner made (retained ones included).
  const vols = [
    ...((await docker.listVolumes({ filters: { label: [`${RUN_LABEL}=${runId}`] } })).Volumes ?? []),
    ...((await docker.listVolumes({ filters: { label: [`spawner.id=${spawnerId}`] } })).Volumes ?? []),
  ];
  await Promise.all(vols.map((v) => docker.getVolume(v.Name).remove().catch(() => undefined)));
}

/** An instance's own network (the spawner's `<SPAWNER_NETWORK>-<container name>`). */
export function instanceNetwork(stack: Pick<Stack, 'network' | 'runId'>, name: string): string {
  return `${stack.network}-${stack.runId}-${name}`;
}

/** Log in with the original API and return the token. */
export async function login(stack: Stack): Promise<string> {
  const res = await fetch(`${stack.api}/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(stack.user),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`login failed: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

export async function api(stack: Stack, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${stack.api}${path}`, {
    method,
    headers: { token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

export async function spawnerLogs(stack: Stack): Promise<string> {
  const buf = (await stack.spawner.logs({ stdout: true, stderr: true, tail: 200 })) as unknown as Buffer;
  return buf.toString('utf8');
}

/** What `docker inspect` says about a container, or null when it does not exist (404). */
export async function inspectOrNull(idOrName: string): Promise<Docker.ContainerInspectInfo | null> {
  try {
    return await docker.getContainer(idOrName).inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
}
