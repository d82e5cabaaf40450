/**
 * SPAWNER_RUNTIME=swarm on a three-node Docker Swarm on this one machine: a manager and two
 * workers, each dockerd in its own network namespace (scripts/ensure-swarm-cluster.sh), the
 * suite inside the manager's:
 *   scripts/ensure-swarm-cluster.sh
 *   nsenter --net=/run/netns/spawner-mn1 env DOCKER_HOST=unix:///run/spawner-mn1/docker.sock \
 *     npx vitest run --project e2e test/swarm-cluster.e2e.test.ts
 * Off such a manager every test here is reported SKIPPED, with the reason in its name.
 *
 * Traefik and the spawner run on the manager; the 30 instances are spread over all three nodes
 * by Swarm. A worker is killed as a host dies (every process of its engine and its containers)
 * and started again, through the script, from the host's namespace.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, type Stack } from './helpers/stack.js';
import { pollUntil } from './helpers/poll.js';
import { pool } from './helpers/pool.js';
import { deploy, followToApp, fromApp, send, statusOf, waitReachable, type Instance } from './helpers/lifecycle.js';
import { readDataNote, writeDataNote } from './helpers/exec.js';
import { routerGone, runningTask, startSwarmStack, swarmManager, teardownSwarmStack, type TaskView } from './helpers/swarm.js';

const NODES = 3;
const INSTANCES = 30;
const VICTIM_NODE = 2; // scripts/ensure-swarm-cluster.sh's node number of the worker that dies
const CLUSTER = resolve('scripts/ensure-swarm-cluster.sh');

const skipReason = await swarmManager(NODES, 'scripts/ensure-swarm-cluster.sh, and the test inside netns spawner-mn1');
if (skipReason) console.warn(`[swarm-cluster.e2e] SKIPPED: ${skipReason}`);

/** The cluster script, run in the host's network namespace (the script names it), where the nodes' links are. */
const cluster = (...args: string[]) => promisify(execFile)('nsenter', ['--net=/run/netns/spawner-host', CLUSTER, ...args], { timeout: 120_000 });

interface NodeView { ID: string; Status: { State: string; Addr?: string }; Spec: { Role: string } }

describe.skipIf(skipReason !== null)(`swarm cluster: ${INSTANCES} instances on ${NODES} nodes${skipReason ? ` (SKIPPED: ${skipReason})` : ''}`, () => {
  let stack: Stack;
  let token: string;
  let nodeOf: Map<string, string>; // node id → "node N" (its advertise address ends in 1N)
  let insts: Instance[] = [];
  const svc = (i: Instance) => `${stack.runId}-${i.name}`;
  const where = async (i: Instance) => (await runningTask(svc(i)))?.NodeID;
  /** Instance name → the node its running task is on, from one listing of every task. */
  const placement = async () => {
    const tasks = (await docker.listTasks({ filters: { 'desired-state': ['running'] } })) as (TaskView & { ServiceID: string })[];
    const services = new Map(((await docker.listServices()) as { ID: string; Spec: { Name: string } }[]).map((s) => [s.ID, s.Spec.Name]));
    const at = new Map<string, string | undefined>();
    for (const t of tasks) if (t.Status.State === 'running') at.set(String(services.get(t.ServiceID)), t.NodeID);
    return new Map(insts.map((i) => [i.name, at.get(svc(i))]));
  };
  const listInstances = async () => ((await api(stack, token, 'GET', '/deploy')).body as { instances: { name: string; status: string }[] }).instances;
  const victimId = () => [...nodeOf].find(([, n]) => n === `node ${VICTIM_NODE}`)?.[0];

  beforeAll(async () => {
    const nodes = (await docker.listNodes()) as NodeView[];
    nodeOf = new Map(nodes.map((n) => [n.ID, `node ${Number(n.Status.Addr?.split('.').pop()) - 10}`]));
    ({ stack, token } = await startSwarmStack());
  }, 120_000);

  afterAll(async () => {
    await cluster('--start-node', String(VICTIM_NODE)).catch((err: unknown) => console.warn(`[swarm-cluster.e2e] ${String(err)}`));
    await teardownSwarmStack(stack, 'swarm-cluster.e2e');
  }, 240_000);

  it(`spreads ${INSTANCES} instances over the ${NODES} nodes, and every one answers through Traefik on the manager`, async () => {
    const t0 = Date.now();
    insts = await pool(Array.from({ length: INSTANCES }, (_, k) => `c${k + 1}`), 6, async (name) => {
      const inst = await deploy(stack, token, name);
      await waitReachable(stack, inst, 90_000);
      return inst;
    });
    const by = new Map<string, number>();
    for (const node of (await placement()).values()) { const n = nodeOf.get(String(node)) ?? '?'; by.set(n, (by.get(n) ?? 0) + 1); }
    console.log(`[swarm-cluster.e2e] ${INSTANCES} deployed and answering in ${Date.now() - t0} ms; by node: ${[...by].sort().map(([n, c]) => `${n} ${c}`).join(', ')}`);
    // Swarm's spread strategy counts tasks, and every overlay Traefik and the spawner are attached
    // to is a task on node 1 (a network attachment): the instances go to the workers, evenly.
    expect(by.get('node 2')).toBeGreaterThanOrEqual(INSTANCES / 2 - 5);
    expect(by.get('node 3')).toBeGreaterThanOrEqual(INSTANCES / 2 - 5);
  }, 300_000);

  it('wakes instances on the workers through Traefik on the manager (cold wake by node, reported)', async () => {
    const figures: string[] = [];
    const at = await placement();
    for (const n of ['node 2', 'node 3']) {
      const on = insts.filter((i) => nodeOf.get(String(at.get(i.name))) === n).slice(0, 2);
      for (const i of on) {
        expect((await api(stack, token, 'POST', `/deploy/${i.name}/stop`)).status).toBe(200);
        await routerGone(stack, i);
        const woke = await followToApp(stack, i);
        expect(fromApp(woke.final, i), `${i.name}: ${woke.final.status} ${woke.final.body.slice(0, 200)}`).toBe(true);
        figures.push(`${i.name} (was on ${n}, woke on ${nodeOf.get(String(await where(i)))}) ${woke.ms} ms`);
      }
    }
    console.log(`[swarm-cluster.e2e] cold wakes: ${figures.join('; ')}`);
    expect(figures).toHaveLength(4);
  }, 300_000);

  it('an instance with a volume runs only on the node that holds its volume (the manager), and its data outlive each stop', async () => {
    // Spread alone would put it on a worker (see above), where an empty volume of that name would be made.
    const v = await deploy(stack, token, 'vol1', { volume: { path: '/data' } });
    await waitReachable(stack, v, 90_000);
    const manager = [...nodeOf].find(([, n]) => n === 'node 1')?.[0];
    const s = (await docker.getService(svc(v)).inspect()) as { Spec: { TaskTemplate: { Placement?: { Constraints?: string[] } } } };
    expect(s.Spec.TaskTemplate.Placement?.Constraints).toEqual([`node.id==${manager}`]);
    const container = async () => docker.getContainer(String((await runningTask(svc(v)))?.Status.ContainerStatus?.ContainerID));
    const note = `written on ${new Date().toISOString()}`;
    expect(await writeDataNote(await container(), note)).toMatchObject({ code: 0 });
    for (let round = 0; round < 2; round++) {
      // Scaling to 0 deletes the task's container: only the volume carries the file over.
      expect((await api(stack, token, 'POST', `/deploy/${v.name}/stop`)).status).toBe(200);
      await routerGone(stack, v);
      const woke = await followToApp(stack, v);
      expect(fromApp(woke.final, v)).toBe(true);
      expect(await where(v)).toBe(manager);
      expect(await readDataNote(await container())).toBe(note);
    }
    expect((await api(stack, token, 'DELETE', `/deploy/${v.name}?purge=true`)).status).toBe(200);
  }, 240_000);

  it('a worker dies: its instances are seen stopped, come back on their next request, and nothing is lost', async () => {
    const at = await placement();
    const victims = insts.filter((i) => at.get(i.name) === victimId());
    expect(victims.length).toBeGreaterThan(1);
    const survivors = insts.filter((i) => !victims.includes(i));
    const t0 = Date.now();
    await cluster('--kill-node', String(VICTIM_NODE));
    // Swarm marks the node down once its heartbeats stop; the spawner's listing then sees no running task.
    await pollUntil('the victims reported not running', async () => {
      const st = await Promise.all(victims.map((i) => statusOf(stack, token, i.name)));
      return st.every((s) => s !== 'running') ? st : undefined;
    }, { timeoutMs: 120_000, intervalMs: 500 });
    const seen = Date.now() - t0;
    console.log(`[swarm-cluster.e2e] killed node ${VICTIM_NODE}: its ${victims.length} instances reported stopped after ${seen} ms`);
    // The other nodes' instances never noticed.
    for (const i of survivors.slice(0, 5)) expect(fromApp(await send(stack.web, { cookie: i.cookie }, 10_000), i)).toBe(true);
    // Half of them wake while their node is down: on a live node.
    const half = Math.ceil(victims.length / 2);
    for (const i of victims.slice(0, half)) {
      const woke = await followToApp(stack, i);
      expect(fromApp(woke.final, i), `${i.name}: ${woke.final.status} ${woke.final.body.slice(0, 200)}`).toBe(true);
      expect(await where(i)).not.toBe(victimId());
    }
    await cluster('--start-node', String(VICTIM_NODE));
    await pollUntil(`node ${VICTIM_NODE} ready again`, async () =>
      (((await docker.listNodes()) as NodeView[]).find((n) => n.ID === victimId())?.Status.State === 'ready' ? true : undefined), { timeoutMs: 90_000 });
    const back = Date.now() - t0;
    // The other half wakes once it is back (wherever Swarm puts them).
    for (const i of victims.slice(half)) {
      const woke = await followToApp(stack, i);
      expect(fromApp(woke.final, i), `${i.name}: ${woke.final.status} ${woke.final.body.slice(0, 200)}`).toBe(true);
    }
    console.log(`[swarm-cluster.e2e] ${victims.length} instances on node ${VICTIM_NODE}: reported stopped ${seen} ms after the kill; node ready again after ${back} ms; all woke`);
    // Nothing lost: every instance is listed and answers; the spawner's state is Swarm's.
    const listed = await listInstances();
    expect(listed.map((l) => l.name).sort()).toEqual(insts.map((i) => i.name).sort());
    for (const i of insts) {
      const woke = await followToApp(stack, i);
      expect(fromApp(woke.final, i), i.name).toBe(true);
    }
    await pollUntil('spawner state = Swarm state', async () => {
      const now = await listInstances();
      const running = await Promise.all(insts.map(async (i) => (await runningTask(svc(i))) !== undefined));
      return now.every((l) => l.status === 'running') && running.every(Boolean) ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 });
  }, 420_000);
});
