/**
 * What the suites parameterised by runtime read of an instance, from the engine itself:
 * E2E_RUNTIME=docker (default) reads containers, E2E_RUNTIME=swarm (CI's one-node swarm part,
 * on a manager) reads services and their tasks. The unit of an instance is a container there and
 * a service here; the API's instance id is that unit's id either way.
 */
import { docker, inspectOrNull, instanceNetwork, login, spawnerLogs, startStack, type Stack, type StackOptions } from './stack.js';
import { pollUntil } from './poll.js';
import { runningTask, scaleService, startSwarmStack, tasksOf, teardownSwarmStack } from './swarm.js';

/** The spawner runtime these suites run with (E2E_RUNTIME, default docker). */
export const RUNTIME: 'docker' | 'swarm' = (() => {
  const r = process.env.E2E_RUNTIME || 'docker';
  if (r !== 'docker' && r !== 'swarm') throw new Error(`E2E_RUNTIME=${r}: allowed: docker, swarm`);
  return r;
})();

/** The test stack for RUNTIME (on Swarm: Traefik's swarm provider, SPAWNER_RUNTIME=swarm). */
export async function startRuntimeStack(opts: StackOptions = {}): Promise<{ stack: Stack; token: string }> {
  if (RUNTIME === 'swarm') {
    const other = Object.keys(opts).filter((k) => k !== 'env' && k !== 'traefikArgs');
    if (other.length) throw new Error(`startRuntimeStack: on Swarm only env and traefikArgs apply, not ${other.join(', ')}`);
    return startSwarmStack(opts.env ?? {}, undefined, opts.traefikArgs);
  }
  const stack = await startStack(opts);
  return { stack, token: await login(stack) };
}

/** E2E_DEBUG=1 prints the spawner's log first. */
export async function teardownRuntimeStack(stack: Stack | undefined, tag: string): Promise<void> {
  if (RUNTIME === 'swarm') return teardownSwarmStack(stack, tag);
  if (!stack) return;
  if (process.env.E2E_DEBUG) console.log(await spawnerLogs(stack));
  await stack.teardown();
}

/** The Traefik provider that names the instances' routers and services. */
export const PROVIDER = RUNTIME === 'swarm' ? 'swarm' : 'docker';

/**
 * One unit of an instance (a container, or a service): its id and whether its container runs now
 * (on Swarm: a task whose container runs, even one Swarm is stopping, as a draining container
 * still runs on Docker).
 */
export interface Unit { id: string; running: boolean; state: string }

const labelsOf = (stack: Stack, name: string) => [`spawner.id=${stack.spawnerId}`, `spawner.instance=${name}`];

const servicesOf = (stack: Stack, name: string) => docker.listServices({ filters: { label: labelsOf(stack, name) } });

/** Every unit the spawner has of the instance (one, or two during a redeploy). */
export async function unitsOf(stack: Stack, name: string): Promise<Unit[]> {
  if (RUNTIME === 'docker') {
    const cs = await docker.listContainers({ all: true, filters: { label: labelsOf(stack, name) } });
    return cs.map((c) => ({ id: c.Id, running: c.State === 'running', state: c.State }));
  }
  return Promise.all((await servicesOf(stack, name)).map(async (s) => {
    const replicas = (s.Spec?.Mode as { Replicated?: { Replicas?: number } } | undefined)?.Replicated?.Replicas ?? 0;
    const running = await isRunning(String(s.ID));
    return { id: String(s.ID), running, state: running ? 'running' : replicas === 0 ? 'scaled to 0' : 'starting' };
  }));
}

/** Whether the unit's container runs now; throws when the unit is gone. */
export async function isRunning(id: string): Promise<boolean> {
  if (RUNTIME === 'swarm') return (await tasksOf(id)).some((t) => t.Status.State === 'running');
  return (await docker.getContainer(id).inspect()).State.Running;
}

/** The ids of the containers that run the instance now (on Swarm: its running tasks' containers). */
export async function runningContainersOf(stack: Stack, name: string): Promise<string[]> {
  if (RUNTIME === 'docker') {
    return (await docker.listContainers({ filters: { status: ['running'], label: labelsOf(stack, name) } })).map((c) => c.Id);
  }
  const tasks = await Promise.all((await servicesOf(stack, name)).map((s) => runningTask(String(s.ID))));
  return tasks.map((t) => t?.Status.ContainerStatus?.ContainerID).filter((cid): cid is string => Boolean(cid));
}

/**
 * What an operator does to an instance's unit outside the spawner: `docker stop|start|rm -f` of
 * its container, or `docker service scale 0|1` and `docker service rm` of its service. A stop
 * returns once nothing runs, as `docker stop` does: on Swarm once the task is gone (a scale-up
 * while Swarm still removes the old task makes no new one).
 */
export const outside = {
  stop: async (id: string) => {
    if (RUNTIME === 'docker') return void (await docker.getContainer(id).stop({ t: 5 }));
    await scaleService(id, 0);
    await pollUntil(`${id.slice(0, 12)}: no task left`, async () => ((await tasksOf(id)).length === 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
  },
  start: (id: string) => (RUNTIME === 'swarm' ? scaleService(id, 1) : docker.getContainer(id).start().then(() => undefined)),
  remove: (id: string) => (RUNTIME === 'swarm' ? docker.getService(id).remove() : docker.getContainer(id).remove({ force: true })).then(() => undefined),
};

/** The container that runs the instance now: its own on Docker, its running task's on Swarm. */
export async function containerOf(stack: Stack, name: string): Promise<string> {
  if (RUNTIME === 'docker') return `${stack.runId}-${name}`;
  const [id] = await runningContainersOf(stack, name);
  if (!id) throw new Error(`${name}: no running task`);
  return id;
}

/** The container that runs the unit `id` now: itself on Docker, its running task's on Swarm. */
export async function containerOfUnit(id: string): Promise<string | undefined> {
  return RUNTIME === 'docker' ? id : (await runningTask(id))?.Status.ContainerStatus?.ContainerID;
}

/** The unit's state as Docker names a container's (`running`, `exited`, …); null when it is gone. */
export async function stateOf(id: string): Promise<string | null> {
  if (RUNTIME === 'docker') return (await inspectOrNull(id))?.State.Status ?? null;
  const svc = await docker.getService(id).inspect().catch((err: { statusCode?: number }) => {
    if (err.statusCode === 404) return null;
    throw err;
  });
  return svc ? ((await isRunning(id)) ? 'running' : 'exited') : null;
}

/** The address of the unit `id` of the instance on its own network (what Traefik routes to). */
export async function addressOf(stack: Stack, name: string, id: string): Promise<string> {
  const net = instanceNetwork(stack, name);
  const cid = await containerOfUnit(id);
  if (!cid) return '';
  return (await docker.getContainer(cid).inspect()).NetworkSettings.Networks[net]?.IPAddress ?? '';
}

/** A mount of an instance's unit, the same shape from a container's mounts and a service's spec. */
export interface UnitMount { type: string; name: string; target: string; rw: boolean }

/** What the unit mounts (on Docker: also no bind, ever; on Swarm: its service's task template). */
export async function mountsOf(id: string): Promise<UnitMount[]> {
  if (RUNTIME === 'docker') {
    const info = await docker.getContainer(id).inspect();
    if ((info.HostConfig.Binds ?? []).length) throw new Error(`${id}: binds ${JSON.stringify(info.HostConfig.Binds)}`);
    return info.Mounts.map((m) => ({ type: m.Type, name: m.Name ?? '', target: m.Destination, rw: m.RW }));
  }
  const spec = (await docker.getService(id).inspect()).Spec as { TaskTemplate?: { ContainerSpec?: { Mounts?: { Type: string; Source: string; Target: string; ReadOnly?: boolean }[] } } };
  return (spec.TaskTemplate?.ContainerSpec?.Mounts ?? []).map((m) => ({ type: m.Type, name: m.Source, target: m.Target, rw: !m.ReadOnly }));
}
