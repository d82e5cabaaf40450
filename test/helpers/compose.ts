/**
 * The compose stack of compose/docker-compose.yml, brought up exactly as a user would (through
 * scripts/compose.sh), but isolated from a developer's demo on the same engine: its own compose
 * project, spawner id, network, container prefix and 127.0.0.1 ports (asked of the OS), and its
 * own users file and service token in a temp dir. Teardown removes the instance containers by the
 * stack's spawner.id label, then `compose.sh down -v`, then anything left by project label.
 *
 * E2E_RUNTIME=swarm (CI's one-node swarm part, on a manager) runs the same stack with
 * SPAWNER_RUNTIME=swarm, so scripts/compose.sh adds compose/swarm.yml: every instance is then a
 * service, and the helpers below that read an instance ask Swarm instead of the container list.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { IMAGES } from './docker-env.js';
import { pollUntil } from './poll.js';
import { removeInstanceNetworks, removeInstanceServices, service, tasksOf } from './swarm.js';
import { RUNTIME } from './runtime-view.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const COMPOSE_SH = join(ROOT, 'scripts/compose.sh');
const docker = new Docker();

export { RUNTIME };

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command without a shell; never rejects (the caller asserts on code and output). */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: `${stderr}${String(err)}`, ms: Date.now() - started }));
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/** A port the OS says is free on 127.0.0.1 right now (compose binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface ComposeStack {
  project: string;
  spawnerId: string;
  network: string;
  containerPrefix: string;
  web: string;
  api: string;
  dir: string;
  user: { username: string; password: string };
  serviceToken: string;
  /** Environment for scripts/compose.sh, scripts/demo.sh and the examples (no credentials). */
  env: NodeJS.ProcessEnv;
  compose(...args: string[]): Promise<RunResult>;
  /** GET/POST/DELETE on the deploy API with the service token. */
  call(method: string, path: string): Promise<{ status: number; body: any }>;
  teardown(): Promise<void>;
}

export interface ComposeOptions {
  /** Extra compose variables, e.g. MOCK_APP_ENVS. */
  env?: Record<string, string>;
}

export async function startComposeStack(opts: ComposeOptions = {}): Promise<ComposeStack> {
  const id = randomBytes(4).toString('hex');
  const project = `spawner-e2e-${id}`;
  const spawnerId = `e2e-compose-${id}`;
  const network = `spawner-e2e-${id}`;
  const containerPrefix = `compose-e2e${id}-`;
  const dir = mkdtempSync(join(tmpdir(), `${project}-`));
  const user = { username: 'tester', password: randomBytes(9).toString('hex') };
  const serviceToken = randomBytes(32).toString('hex');
  const usersFile = join(dir, 'users.txt');
  const tokenFile = join(dir, 'service-token');
  // The original spawner's format (also accepted): username,<hex sha256 of the password>.
  writeFileSync(usersFile, `${user.username},${createHash('sha256').update(user.password).digest('hex')}\n`, { mode: 0o644 });
  // 0644: mock-home reads it as uid 1000 inside its container.
  writeFileSync(tokenFile, `${serviceToken}\n`, { mode: 0o644 });
  const [httpPort, apiPort] = [await freePort(), await freePort()];
  const web = `http://127.0.0.1:${httpPort}`;
  const api = `http://127.0.0.1:${apiPort}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    SPAWNER_RUNTIME: RUNTIME,
    SPAWNER_COMPOSE_PROJECT: project,
    SPAWNER_ID: spawnerId,
    SPAWNER_NETWORK: network,
    SPAWNER_CONTAINER_PREFIX: containerPrefix,
    SPAWNER_HTTP_PORT: String(httpPort),
    SPAWNER_API_PORT: String(apiPort),
    SPAWNER_USERS_FILE: usersFile,
    SPAWNER_SERVICE_TOKEN_FILE: tokenFile,
    TRAEFIK_IMAGE: IMAGES.traefik,
    SPAWNER_IMAGE: IMAGES.spawner,
    MOCK_APP_IMAGE: IMAGES.mockApp,
    MOCK_HOME_IMAGE: IMAGES.mockHome,
    SPAWNER_API: api,
    SPAWNER_WEB: web,
    ...opts.env,
  };
  const compose = (...args: string[]) => run(COMPOSE_SH, args, env, 120_000);
  const apiCall = async (method: string, path: string) => {
    const res = await fetch(`${api}${path}`, { method, headers: { token: serviceToken }, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  };
  const teardown = async () => {
    // Instances are not compose services and stay attached to the network: remove them first.
    const byLabel = (label: string) => docker.listContainers({ all: true, filters: { label: [label] } });
    const rmAll = async (cs: Docker.ContainerInfo[]) =>
      Promise.all(cs.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
    await rmAll(await byLabel(`spawner.id=${spawnerId}`));
    if (RUNTIME === 'swarm') await removeInstanceServices(spawnerId);
    const down = await compose('down', '-v', '--remove-orphans', '--timeout', '5');
    if (down.code !== 0) console.warn(`[compose] down failed: ${down.stderr}`);
    // Whatever `down` could not remove (it failed, or a container appeared meanwhile).
    await rmAll([...(await byLabel(`com.docker.compose.project=${project}`)), ...(await byLabel(`spawner.id=${spawnerId}`))]);
    await docker.getNetwork(network).remove().catch(() => undefined);
    // The instance networks the spawner made (nothing is attached to them any more).
    await removeInstanceNetworks(spawnerId, 'compose', { timeoutMs: RUNTIME === 'swarm' ? 60_000 : 5_000, intervalMs: 500 });
    await docker.getVolume(`${project}_spawner-data`).remove().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  const stack: ComposeStack = {
    project, spawnerId, network, containerPrefix, web, api, dir, user, serviceToken, env, compose, call: apiCall, teardown,
  };
  try {
    const up = await compose('up', '-d');
    if (up.code !== 0) throw new Error(`compose up failed (${up.code}):\n${up.stderr}`);
    await waitReady(stack);
    return stack;
  } catch (err) {
    const logs = await compose('logs', '--tail=30');
    console.error(`[compose] ${project} logs:\n${logs.stdout}${logs.stderr}`);
    await teardown();
    throw err;
  }
}

/** The deploy API answers, and Traefik routes /home (it does once the healthchecks pass, ~5 s). */
export async function waitReady(stack: ComposeStack): Promise<void> {
  const ok = async (url: string) => ((await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok ? true : undefined);
  await pollUntil('deploy API /healthz', () => ok(`${stack.api}/healthz`), { timeoutMs: 60_000, intervalMs: 250 });
  await pollUntil('home through Traefik', () => ok(`${stack.web}/home/healthz`), { timeoutMs: 30_000, intervalMs: 250 });
}

/** The instance's id as the API gives it: the container's, or on Swarm the service's. */
export async function instanceId(stack: ComposeStack, name: string): Promise<string> {
  if (RUNTIME === 'swarm') return (await service(`${stack.containerPrefix}${name}`)).ID;
  return (await docker.getContainer(`${stack.containerPrefix}${name}`).inspect()).Id;
}

/** Whether the instance runs, and the exit code of its (last) container: on Swarm, its newest task's. */
export async function instanceState(stack: ComposeStack, name: string): Promise<{ running: boolean; exitCode: number | null }> {
  if (RUNTIME === 'docker') {
    const st = (await docker.getContainer(`${stack.containerPrefix}${name}`).inspect()).State;
    return { running: st.Running, exitCode: st.ExitCode };
  }
  const tasks = await tasksOf(`${stack.containerPrefix}${name}`);
  const last = tasks.sort((x, y) => y.CreatedAt.localeCompare(x.CreatedAt))[0];
  return { running: last?.Status.State === 'running', exitCode: last?.Status.ContainerStatus?.ExitCode ?? null };
}

/** What the stack's spawner has made and not removed: containers, and on Swarm services too. */
export async function instancesLeft(stack: ComposeStack): Promise<string[]> {
  const label = [`spawner.id=${stack.spawnerId}`, 'origin=spawner'];
  const containers = (await docker.listContainers({ all: true, filters: { label } })).map((c) => c.Names[0] ?? c.Id);
  const services = RUNTIME === 'swarm' ? (await docker.listServices({ filters: { label } })).map((x) => String(x.Spec?.Name)) : [];
  return [...containers, ...services];
}

/** Polls GET /deploy until every named instance has `status` (e.g. exited after its IDLE). */
export async function waitForStatus(stack: ComposeStack, names: string[], status: string, timeoutMs = 30_000): Promise<void> {
  await pollUntil(`${names.join(', ')} ${status}`, async () => {
    const { body } = await stack.call('GET', '/deploy');
    const byName = new Map<string, string>((body.instances ?? []).map((i: any) => [i.name, i.status]));
    return names.every((n) => byName.get(n) === status) ? true : undefined;
  }, { timeoutMs, intervalMs: 250 });
}

/**
 * Waits until Traefik no longer routes this cookie to the instance, i.e. `/` falls through to the
 * wake listener's catch-all. An app that exited by itself keeps its router until Traefik has
 * processed the exit (a fraction of a second, seconds on a busy engine); a request in that window
 * gets a 502/504 from the dead address instead of the waiting page. HEAD is safe to poll with: the
 * listener answers it 503 + x-spawner-wake without waking anything.
 */
export async function waitForFallThrough(stack: ComposeStack, cookie: string, timeoutMs = 30_000): Promise<void> {
  await pollUntil('the request to fall through to the wake listener', async () => {
    // Short: a stale route dials the dead address until Traefik's 2 s dialTimeout; just ask again.
    const res = await fetch(`${stack.web}/`, { method: 'HEAD', headers: { cookie }, signal: AbortSignal.timeout(1_000) });
    return res.headers.get('x-spawner-wake') === '1' ? true : undefined;
  }, { timeoutMs, intervalMs: 200 });
}

/** Step timings a compose test prints at the end (they are reported, never asserted). */
export function stepTimer(width = 34) {
  const lines: string[] = [];
  const record = (label: string, ms: number) => lines.push(`${label.padEnd(width)} ${(ms / 1000).toFixed(1)} s`);
  async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
    const t = Date.now();
    try {
      return await f();
    } finally {
      record(label, Date.now() - t);
    }
  }
  return { timed, record, lines };
}
