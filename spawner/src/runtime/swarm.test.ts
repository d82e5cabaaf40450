/**
 * SwarmRuntime's own logic against a scripted stand-in for the Engine API (the real swarm is in
 * test/swarm.e2e.test.ts): version-index retries, exact-name lookups, the restart of an ended
 * task, a task Swarm rejects, and a subnet that overlaps another overlay.
 */
import { describe, expect, it, vi } from 'vitest';
import type Docker from 'dockerode';
import { SwarmRuntime } from './swarm.js';
import { NetworkConflictError, type RuntimeEvent } from './types.js';
import type { TaskLike } from './swarm-mapping.js';

interface Svc { ID: string; Version: { Index: number }; Spec: Record<string, any>; PreviousSpec?: Record<string, any> }

function fakeEngine(services: Svc[], tasks: TaskLike[] = [], nodes: { ID: string; Status: { State: string } }[] = []) {
  const down = () => new Set(nodes.filter((n) => n.Status.State !== 'ready').map((n) => n.ID));
  const updates: { id: string; version: number; replicas: number; force?: number }[] = [];
  let conflicts = 0;
  const engine = {
    failNextUpdates(n: number) { conflicts = n; },
    /** How many of the scheduler's next tasks fail at once (the others run). */
    failingTasks: 0,
    updates,
    tasks,
    getService: (id: string) => ({
      // Like the engine: an id, a name, or an id PREFIX.
      inspect: async () => {
        const s = services.find((x) => x.ID === id || x.Spec.Name === id) ?? services.find((x) => x.ID.startsWith(id));
        if (!s) throw Object.assign(new Error('no such service'), { statusCode: 404 });
        return structuredClone(s);
      },
      remove: async () => { services.splice(services.findIndex((x) => x.ID === id), 1); },
      update: async (opts: { _query: { version: number }; _body: Record<string, any> }) => {
        const s = services.find((x) => x.ID === id)!;
        if (conflicts > 0) {
          conflicts--;
          s.Version.Index++; // someone else updated in between
          throw new Error('(HTTP code 500) server error - rpc error: code = Unknown desc = update out of sequence');
        }
        if (opts._query.version !== s.Version.Index) throw new Error('update out of sequence');
        updates.push({ id, version: opts._query.version, replicas: opts._body.Mode.Replicated.Replicas, force: opts._body.TaskTemplate?.ForceUpdate });
        s.PreviousSpec = s.Spec; // as the engine keeps it
        s.Spec = opts._body;
        s.Version.Index++;
        // The scheduler, instantly: one running task per replica.
        if (opts._body.Mode.Replicated.Replicas === 1) {
          const Status = engine.failingTasks-- > 0 ? { State: 'failed', Err: 'task: non-zero exit (255)' } : { State: 'running' };
          tasks.push({ ID: `t${tasks.length}`, ServiceID: id, CreatedAt: new Date(Date.now() + tasks.length).toISOString(), DesiredState: 'running', Status });
        } else tasks.splice(0, tasks.length, ...tasks.filter((t) => t.ServiceID !== id || down().has(t.NodeID ?? ''))); // a dead node's stay
      },
    }),
    listServices: async (o: { filters?: { name?: string[] } }) => services.filter((s) => !o.filters?.name || s.Spec.Name.startsWith(o.filters.name[0]!)),
    listTasks: async () => tasks,
    listNodes: async () => nodes,
    /** Containers on this node, each with its service id label (a task's container). */
    localContainers: [] as { Labels: Record<string, string> }[],
    listContainers: async (o: { filters: { label: string[] } }) => engine.localContainers.filter((c) => o.filters.label.every((l) => {
      const [k, v] = l.split('=');
      return c.Labels[k!] === v;
    })),
    /** The swarm's networks, as a manager lists them (a leftover overlay, the ingress). */
    networks: [
      { Id: 'ingress', Name: 'ingress', IPAM: { Config: [{ Subnet: '10.0.0.0/24' }] } },
      { Id: 'left', Name: 'left-over', IPAM: { Config: [{ Subnet: '10.208.16.0/24' }] } },
      { Id: 'v6', Name: 'v6-only', IPAM: { Config: [{ Subnet: 'fd00::/64' }] } },
    ] as { Id: string; Name: string; IPAM: { Config: { Subnet: string }[] } }[],
    listNetworks: async () => engine.networks,
    createNetwork: async (o: { Name: string; IPAM?: { Config: { Subnet: string }[] } }) => {
      engine.networks.push({ Id: `n${engine.networks.length}`, Name: o.Name, IPAM: { Config: o.IPAM?.Config ?? [] } });
      return { id: `n${engine.networks.length - 1}` };
    },
    /** The service specs create() sent. */
    created: [] as Record<string, any>[],
    createService: async (spec: Record<string, any>) => {
      engine.created.push(spec);
      services.push({ ID: `s${services.length + 1}`, Version: { Index: 1 }, Spec: spec });
      return { id: `s${services.length}` };
    },
    version: async () => ({ ApiVersion: '1.41' }),
    getImage: () => ({ inspect: async () => ({ Config: {} }) }),
    getContainer: (cid: string) => ({
      inspect: async () => { throw Object.assign(new Error('no such container'), { statusCode: 404 }); },
      // Only the task container `c-local` is on this node.
      stats: async () => {
        if (cid !== 'c-local') throw Object.assign(new Error('no such container'), { statusCode: 404 });
        return { networks: { eth0: { tx_bytes: 1200 }, eth1: { tx_bytes: 34 } } };
      },
    }),
  };
  return engine;
}

const svc = (ID: string, name: string, replicas: number): Svc => ({
  ID, Version: { Index: 10 },
  Spec: { Name: name, Labels: {}, Mode: { Replicated: { Replicas: replicas } }, TaskTemplate: { ContainerSpec: { Image: 'i' }, ForceUpdate: 0 } },
});
const runtime = (e: ReturnType<typeof fakeEngine>) => new SwarmRuntime(e as unknown as Docker, { taskPollMs: 1, settleTimeoutMs: 500 });

describe('SwarmRuntime', () => {
  it('refuses a subnet that overlaps one of the swarm\'s networks before creating anything (Swarm itself accepts it)', async () => {
    const e = fakeEngine([]);
    const rt = runtime(e);
    const spec = { name: 'spawner-i-a', labels: {}, internal: true };
    await expect(rt.createNetwork({ ...spec, subnet: '10.208.16.32/28' })).rejects.toBeInstanceOf(NetworkConflictError);
    await expect(rt.createNetwork({ ...spec, subnet: '10.0.0.0/16' })).rejects.toBeInstanceOf(NetworkConflictError);
    expect(e.networks.map((n) => n.Name)).toEqual(['ingress', 'left-over', 'v6-only']);
    await rt.createNetwork({ ...spec, subnet: '10.208.17.0/28' });
    expect(e.networks.at(-1)).toMatchObject({ Name: 'spawner-i-a', IPAM: { Config: [{ Subnet: '10.208.17.0/28' }] } });
  });

  it('start retries "update out of sequence" with the current version index', async () => {
    const e = fakeEngine([svc('s1', 'spawner-u1', 0)]);
    e.failNextUpdates(2);
    await runtime(e).start('s1');
    expect(e.updates).toEqual([{ id: 's1', version: 12, replicas: 1, force: 0 }]);
  });

  it('looks services up by exact name: `u1` never finds `u10`, by name or by id prefix', async () => {
    const e = fakeEngine([svc('u1abc', 'spawner-u10', 1)]);
    const rt = runtime(e);
    expect(await rt.inspect('spawner-u1')).toBeNull();
    expect(await rt.inspect('u1')).toBeNull();
    expect((await rt.inspect('spawner-u10'))?.id).toBe('u1abc');
  });

  it('start of a service at 1 whose task ended force-updates it (a fresh task); stop scales to 0', async () => {
    const e = fakeEngine([svc('s1', 'spawner-u1', 1)], [{ ID: 'old', ServiceID: 's1', CreatedAt: '2020-01-01T00:00:00Z', DesiredState: 'running', Status: { State: 'complete' } }]);
    const rt = runtime(e);
    await rt.start('s1');
    expect(e.updates).toEqual([{ id: 's1', version: 10, replicas: 1, force: 1 }]);
    expect((await rt.inspect('s1'))?.state).toBe('running');
    await rt.stop('s1', 5);
    expect(e.updates.at(-1)).toMatchObject({ replicas: 0 });
    expect((await rt.inspect('s1'))?.state).toBe('exited');
  });

  it('a task stranded on a node that died: reported exited, start force-updates past it, stop does not wait for it', async () => {
    // What Swarm shows once a worker stops answering: the task shut down, its last report `running`.
    const lost: TaskLike = { ID: 'lost', ServiceID: 's1', NodeID: 'n2', CreatedAt: '2020-01-01T00:00:00Z', DesiredState: 'shutdown', Status: { State: 'running' } };
    const e = fakeEngine([svc('s1', 'spawner-u1', 1)], [lost], [{ ID: 'n1', Status: { State: 'ready' } }, { ID: 'n2', Status: { State: 'down' } }]);
    const rt = runtime(e);
    expect((await rt.inspect('s1'))?.state).toBe('exited');
    await rt.start('s1');
    expect(e.updates).toEqual([{ id: 's1', version: 10, replicas: 1, force: 1 }]);
    expect((await rt.inspect('s1'))?.state).toBe('running');
    await rt.stop('s1', 5); // within settleTimeoutMs, though `lost` stays listed
    expect(e.tasks).toEqual([lost]);
    expect((await rt.inspect('s1'))?.state).toBe('exited');
  });

  it('start fails with Swarm\'s reason when the task is rejected, instead of waiting out the deadline', async () => {
    const e = fakeEngine([svc('s1', 'spawner-u1', 1)], [{ ID: 'r', ServiceID: 's1', CreatedAt: '2020-01-01T00:00:00Z', DesiredState: 'running', Status: { State: 'pending' } }]);
    const rt = runtime(e);
    const p = rt.start('s1');
    await new Promise((r) => setTimeout(r, 20)); // start is waiting for the pending task by now
    expect(e.updates).toEqual([]);
    e.tasks[0]!.Status = { State: 'rejected', Err: 'No such image: mock-app:gone' };
    await expect(p).rejects.toThrow('task rejected: No such image: mock-app:gone');
  });

  it('start gives a task that failed one successor (a node just back fails its first tasks), then reports the failure', async () => {
    const once = fakeEngine([svc('s1', 'spawner-u1', 0)]);
    once.failingTasks = 1;
    await runtime(once).start('s1');
    expect(once.updates.map((u) => u.force)).toEqual([0, 1]); // the scale-up, then one force update
    const twice = fakeEngine([svc('s1', 'spawner-u1', 0)]);
    twice.failingTasks = 2;
    await expect(runtime(twice).start('s1')).rejects.toThrow('task failed: task: non-zero exit (255)');
    expect(twice.updates).toHaveLength(2);
  });

  it('reads traffic from the running task\'s container on this node; none elsewhere or when stopped', async () => {
    const running = (cid: string): TaskLike => ({ ID: cid, ServiceID: 's1', CreatedAt: '2020-01-01T00:00:00Z', DesiredState: 'running', Status: { State: 'running', ContainerStatus: { ContainerID: cid } } });
    expect(await runtime(fakeEngine([svc('s1', 'spawner-u1', 1)], [running('c-local')])).networkTxBytes('s1')).toBe(1234);
    expect(await runtime(fakeEngine([svc('s1', 'spawner-u1', 1)], [running('c-other-node')])).networkTxBytes('s1')).toBeNull();
    const stopped = runtime(fakeEngine([svc('s1', 'spawner-u1', 0)], []));
    expect(await stopped.networkTxBytes('s1')).toBeNull();
    await expect(stopped.readSocketTable('s1', 'spawner:dev', 1_000)).rejects.toThrow(/no running task/);
  });

  it('create names a revision\'s service as Swarm allows, and gives it the longest stop any caller asks for (a drain)', async () => {
    const e = fakeEngine([]);
    const spec = {
      name: 'spawner-u1.r2', image: 'mock-app:dev', networks: ['spawner-spawner-u1'], labels: {}, env: {},
      stopTimeoutSec: 10, limits: { memoryBytes: 0, nanoCpus: 0, pids: 0 },
    };
    const r = new SwarmRuntime(e as unknown as Docker, { longestStopSec: 30 });
    expect(await r.create(spec)).toBe('s1');
    expect(e.created[0]).toMatchObject({ Name: 'spawner-u1_r2', Mode: { Replicated: { Replicas: 0 } }, TaskTemplate: { ContainerSpec: { StopGracePeriod: 30e9 } } });
    await runtime(e).create({ ...spec, name: 'spawner-u2' });
    expect(e.created[1]!.TaskTemplate.ContainerSpec.StopGracePeriod).toBe(10e9); // no longer stop asked for: the spec's
  });

  it('watch: a listing that hangs is abandoned and reported; later polls still see changes', async () => {
    const e = fakeEngine([svc('s1', 'spawner-u1', 0)]);
    let calls = 0;
    const list = e.listServices;
    e.listServices = (o: { filters?: { name?: string[] }; abortSignal?: AbortSignal }) => (calls++ > 0 ? list(o)
      : new Promise((_, reject) => o.abortSignal?.addEventListener('abort', () => reject(new Error('listing aborted')))));
    const seen: RuntimeEvent[] = [];
    const errors: string[] = [];
    const ac = new AbortController();
    const rt = new SwarmRuntime(e as unknown as Docker, { taskPollMs: 1, watchPollMs: 5, listingTimeoutMs: 30 });
    rt.watch({}, (ev) => seen.push(ev), { signal: ac.signal, onError: (err) => errors.push(String(err)) });
    try {
      await vi.waitFor(() => expect(calls).toBeGreaterThan(1), { timeout: 2_000, interval: 5 }); // a baseline after the hung one
      e.tasks.push({ ID: 't1', ServiceID: 's1', CreatedAt: new Date().toISOString(), DesiredState: 'running', Status: { State: 'running' } });
      await vi.waitFor(() => expect(seen.map((x) => `${x.kind} ${x.id}`)).toContain('start s1'), { timeout: 2_000, interval: 5 });
      expect(errors).toContain('Error: listing aborted');
    } finally {
      ac.abort();
    }
  });

  it('remove returns once the task\'s container has left this node too (it holds the volume until then)', async () => {
    const e = fakeEngine([svc('s1', 'spawner-u1', 0), svc('s2', 'spawner-u2', 0)]);
    const label = 'com.docker.swarm.service.id';
    e.localContainers.push({ Labels: { [label]: 's1' } }, { Labels: { [label]: 's2' } });
    let listings = 0;
    const list = e.listContainers;
    e.listContainers = async (o) => {
      if (++listings === 3) e.localContainers.shift(); // the engine removes s1's container
      return list(o);
    };
    await runtime(e).remove('s1');
    expect(listings).toBe(3);
    expect(e.localContainers).toEqual([{ Labels: { [label]: 's2' } }]);
  });

  it('stopping a service that is gone succeeds', async () => {
    await expect(runtime(fakeEngine([])).stop('nope', 5)).resolves.toBeUndefined();
  });
});
