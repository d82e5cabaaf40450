/**
 * The swarm suites' common parts: whether the engine is a manager (else the suite is reported
 * SKIPPED, with the reason in its name), the stack on a manager (Traefik with its swarm provider,
 * the spawner with SPAWNER_RUNTIME=swarm, both plain containers there), its teardown, and reads of
 * services and tasks straight from Swarm.
 */
import { docker, login, spawnerLogs, startStack, type Stack } from './stack.js';
import { pollUntil } from './poll.js';
import { routerName } from '../../spawner/src/traefik/names.js';
import { send, type Instance } from './lifecycle.js';

/** Traefik's swarm poll period (a Go duration or seconds); SWARM_E2E_REFRESH measures others. */
export const REFRESH_SECONDS = process.env.SWARM_E2E_REFRESH ?? '1';

interface SwarmInfo { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; Nodes?: number } }

/** null on a swarm manager with at least `nodes` nodes, else why the suite cannot run here. */
export async function swarmManager(nodes = 1, how = 'scripts/ensure-swarm-engine.sh, and the test inside netns spawner-swarm'): Promise<string | null> {
  const where = process.env.DOCKER_HOST ?? '/var/run/docker.sock';
  try {
    const info = (await docker.info()) as SwarmInfo;
    if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) return `the engine at ${where} is no swarm manager (run ${how})`;
    if ((info.Swarm.Nodes ?? 1) < nodes) return `the swarm at ${where} has ${info.Swarm.Nodes} node(s), not ${nodes} (run ${how})`;
    return null;
  } catch (err) {
    return `no engine answers at ${where}: ${String(err)}`;
  }
}

export interface ServiceView {
  ID: string;
  Version: { Index: number };
  Spec: {
    Mode: { Replicated: { Replicas: number } }; Labels: Record<string, string>; EndpointSpec?: { Mode?: string };
    TaskTemplate?: { ForceUpdate?: number };
  };
}
export interface TaskView {
  ID: string;
  NodeID?: string;
  CreatedAt: string;
  DesiredState: string;
  Status: { State: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
}

export const service = async (name: string) => (await docker.getService(name).inspect()) as unknown as ServiceView;
export const tasksOf = async (name: string) => (await docker.listTasks({ filters: { service: [name] } })) as TaskView[];
/** The task that runs now (desired and actual state `running`), if any. */
export const runningTask = async (name: string) =>
  (await tasksOf(name)).find((t) => t.DesiredState === 'running' && t.Status.State === 'running');

/** `docker service scale` from outside the spawner (again on "update out of sequence"). */
export async function scaleService(idOrName: string, replicas: number): Promise<void> {
  await pollUntil(`scale ${idOrName} to ${replicas}`, async () => {
    const svc = await service(idOrName);
    const spec = { ...svc.Spec, Mode: { Replicated: { Replicas: replicas } } };
    await docker.getService(idOrName).update({ _query: { version: svc.Version.Index }, _body: spec } as never);
    return true;
  }, { timeoutMs: 10_000, intervalMs: 100 });
}

export async function routerGone(stack: Stack, inst: Instance): Promise<void> {
  await pollUntil(`${inst.name}: router gone from Traefik`, async () => {
    const h = await send(`${stack.traefikApi}/api/http/routers/${routerName(inst.name)}@swarm`, {}, 5_000);
    return h.status === 404 ? true : undefined;
  }, { timeoutMs: 30_000 });
}

/** The stack with the swarm runtime and Traefik's swarm provider (polling every `refresh`: a Go duration or seconds). */
export async function startSwarmStack(
  env: Record<string, string> = {}, refresh = REFRESH_SECONDS, traefikArgs: string[] = [],
): Promise<{ stack: Stack; token: string }> {
  const own = [
    '--providers.swarm.endpoint=unix:///var/run/docker.sock',
    `--providers.swarm.refreshSeconds=${refresh}`,
    '--providers.swarm.exposedByDefault=false',
    '--serversTransport.maxIdleConnsPerHost=-1',
  ];
  const stack = await startStack({
    env: { SPAWNER_RUNTIME: 'swarm', SPAWNER_IDLE_CHECK_SEC: '1', SPAWNER_TRAEFIK_API_URL: 'http://traefik-api:8080', ...env },
    traefikArgs: [...own, ...traefikArgs.filter((a) => !own.includes(a))],
  });
  return { stack, token: await login(stack) };
}

/** Services first (their tasks hold the instance overlays), then the stack's containers and networks. */
export async function teardownSwarmStack(stack: Stack | undefined, tag: string): Promise<void> {
  if (!stack) return;
  if (process.env.E2E_DEBUG) console.log(await spawnerLogs(stack));
  await removeInstanceServices(stack.spawnerId);
  await stack.teardown();
  await removeInstanceNetworks(stack.spawnerId, tag);
}

/** The services a spawner made, then the wait until their tasks are gone (they hold the instance overlays). */
export async function removeInstanceServices(spawnerId: string): Promise<void> {
  const services = await docker.listServices({ filters: { label: [`spawner.id=${spawnerId}`] } });
  await Promise.all(services.map((s) => docker.getService(s.ID as string).remove().catch(() => undefined)));
  const ids = new Set<string | undefined>(services.map((s) => s.ID));
  await pollUntil('instance tasks gone', async () =>
    ((await docker.listTasks()).some((t: { ServiceID?: string }) => ids.has(t.ServiceID)) ? undefined : true), { timeoutMs: 60_000 })
    .catch(() => undefined);
}

/**
 * The instance networks a spawner made, removed again until none is left: an overlay stays in use
 * until Swarm has released the edge containers' attachments. A bridge goes at the first try.
 */
export async function removeInstanceNetworks(spawnerId: string, tag: string, opts = { timeoutMs: 60_000, intervalMs: 1_000 }): Promise<void> {
  const left = async () => docker.listNetworks({ filters: { label: [`spawner.id=${spawnerId}`] } });
  await pollUntil('instance networks removed', async () => {
    const nets = await left();
    await Promise.all(nets.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
    return (await left()).length === 0 ? true : undefined;
  }, opts).catch((err: unknown) => console.warn(`[${tag}] ${String(err)}`));
}
