import { describe, expect, it } from 'vitest';
import type { ContainerInfo, ContainerSpec } from './types.js';
import {
  anyTaskLive, currentTask, diffInfos, isOutOfSequence, serviceName, serviceSpec, taskFailure, toServiceInfo, withoutStranded, SWARM_CAP_DROP,
  type ServiceLike, type TaskLike,
} from './swarm-mapping.js';

const spec: ContainerSpec = {
  name: 'spawner-u1', hostname: 'u1', image: 'mock-app:dev', networks: ['spawner-spawner-u1', 'extra'],
  labels: { origin: 'spawner', 'spawner.id': 'x', 'traefik.enable': 'true' }, env: { A: '1' },
  limits: { memoryBytes: 256 << 20, nanoCpus: 5e8, pids: 128 }, stopTimeoutSec: 10,
};

const svc = (replicas: number, healthcheck = true): ServiceLike => ({
  ID: 'svc1', Version: { Index: 7 },
  Spec: {
    Name: 'spawner-u1', Labels: { origin: 'spawner' }, Mode: { Replicated: { Replicas: replicas } },
    TaskTemplate: { ContainerSpec: { Image: 'mock-app:dev', ...(healthcheck ? { Healthcheck: { Test: ['CMD', 'true'] } } : {}) } },
  },
});
const task = (state: string, desired = 'running', at = '2026-01-01T00:00:01Z', extra: Partial<TaskLike> = {}): TaskLike => ({
  ID: `t-${state}-${at}`, ServiceID: 'svc1', CreatedAt: at, DesiredState: desired,
  Status: { State: state, Timestamp: at, ContainerStatus: { ExitCode: 0 } },
  NetworksAttachments: [{ Network: { Spec: { Name: 'spawner-spawner-u1' } }, Addresses: ['10.112.1.5/24'] }],
  ...extra,
});

describe('serviceSpec: an instance as a replicated service', () => {
  const s = serviceSpec(spec, { replicas: 0, healthcheck: { Test: ['CMD', 'true'], StartInterval: 1e8 } }) as any;
  it('puts the labels on the service (the swarm provider reads those), none on the task', () => {
    expect(s.Labels).toEqual(spec.labels);
    expect(s.TaskTemplate.ContainerSpec.Labels).toBeUndefined();
  });
  it('carries the container hardening: init, dropped capabilities, no new privileges', () => {
    expect(s.TaskTemplate.ContainerSpec).toMatchObject({
      Init: true, CapabilityDrop: SWARM_CAP_DROP, Privileges: { NoNewPrivileges: true }, StopGracePeriod: 10e9,
      Hostname: 'u1', Env: ['A=1'], Image: 'mock-app:dev', Healthcheck: { StartInterval: 1e8 },
    });
    expect(s.TaskTemplate.Resources.Limits).toEqual({ MemoryBytes: 256 << 20, NanoCPUs: 5e8, Pids: 128 });
  });
  it('never restarts a crashed task by itself, and starts at the asked replica count', () => {
    expect(s.TaskTemplate.RestartPolicy).toEqual({ Condition: 'none' });
    expect(s.Mode).toEqual({ Replicated: { Replicas: 0 } });
  });
  it('uses dnsrr (no VIP, no IPVS) and joins every network with the hostname as alias', () => {
    expect(s.EndpointSpec).toEqual({ Mode: 'dnsrr' });
    expect(s.TaskTemplate.Networks).toEqual([
      { Target: 'spawner-spawner-u1', Aliases: ['u1'] }, { Target: 'extra', Aliases: ['u1'] },
    ]);
  });
  it('keeps the image healthcheck when none is given, and refuses a spec without a network', () => {
    expect((serviceSpec(spec, { replicas: 1 }) as any).TaskTemplate.ContainerSpec.Healthcheck).toBeUndefined();
    expect(() => serviceSpec({ ...spec, networks: [] }, { replicas: 0 })).toThrow(/network/);
  });
  it('no placement of its own; pinned to the node of its volume when it has one', () => {
    expect(s.TaskTemplate.Placement).toBeUndefined();
    const pinned = serviceSpec({ ...spec, mounts: [{ type: 'volume', source: 'v-u1', target: '/data' }] }, { replicas: 0, pinTo: 'node-a' }) as any;
    expect(pinned.TaskTemplate.Placement).toEqual({ Constraints: ['node.id==node-a'] });
    expect(pinned.TaskTemplate.ContainerSpec.Mounts).toEqual([{ Type: 'volume', Source: 'v-u1', Target: '/data', ReadOnly: false }]);
  });
});

describe('serviceName: a container name as a Swarm service name (a DNS label)', () => {
  it('keeps an instance\'s container name; a revision\'s dot becomes an underscore, no instance name has one', () => {
    expect(serviceName('spawner-u1')).toBe('spawner-u1');
    expect(serviceName('spawner-u1.r2')).toBe('spawner-u1_r2');
    expect(serviceName('spawner-u1.r2')).not.toBe(serviceName('spawner-u1-r2'));
    expect((serviceSpec({ ...spec, name: 'spawner-u1.r12' }, { replicas: 0 }) as any).Name).toBe('spawner-u1_r12');
  });
  it('refuses what Swarm would refuse, saying why: over 63 characters, or no DNS label', () => {
    expect(serviceName(`s-${'a'.repeat(61)}`)).toHaveLength(63);
    expect(() => serviceName(`s-${'a'.repeat(62)}`)).toThrow(/longer than Swarm's 63/);
    for (const bad of ['-a', 'a-', 'a b', 'a/b', '']) expect(() => serviceName(bad)).toThrow(/DNS label/);
  });
});

describe('toServiceInfo: service + tasks as the port sees a workload', () => {
  it('is running (healthy, with the task address) only when desired and actual state are running', () => {
    const i = toServiceInfo(svc(1), [task('running')]);
    expect(i).toMatchObject({ id: 'svc1', name: 'spawner-u1', state: 'running', health: 'healthy', hasHealthcheck: true });
    expect(i.ips).toEqual({ 'spawner-spawner-u1': '10.112.1.5' });
    expect(i.startedAt).toBe('2026-01-01T00:00:01Z');
  });
  it('a running task Swarm is shutting down is not running', () => {
    expect(toServiceInfo(svc(0), [task('running', 'shutdown')]).state).toBe('exited');
  });
  it('a task on its way up is created; `starting` with a HEALTHCHECK is health starting', () => {
    expect(toServiceInfo(svc(1), [task('preparing')])).toMatchObject({ state: 'created', health: 'none', ips: {} });
    expect(toServiceInfo(svc(1), [task('starting')])).toMatchObject({ state: 'created', health: 'starting' });
    expect(toServiceInfo(svc(1), [])).toMatchObject({ state: 'created' });
  });
  it('scaled to 0 with no task is exited; without HEALTHCHECK health is none', () => {
    expect(toServiceInfo({ ...svc(0, false), PreviousSpec: {} }, [])).toMatchObject({ state: 'exited', health: 'none', hasHealthcheck: false });
    expect(toServiceInfo(svc(1, false), [task('running')]).health).toBe('none');
  });
  it('made and never scaled up (no PreviousSpec: the spec was never updated) is created, as a container never started', () => {
    expect(toServiceInfo(svc(0), []).state).toBe('created');
  });
  it('a failed task reports its exit code; tasks of other services are ignored', () => {
    const failed = task('failed', 'running', '2026-01-01T00:00:02Z', { Status: { State: 'failed', ContainerStatus: { ExitCode: 3 } } });
    expect(toServiceInfo(svc(1), [failed, { ...task('running'), ServiceID: 'other' }])).toMatchObject({ state: 'exited', exitCode: 3 });
  });
});

describe('task helpers', () => {
  it('currentTask prefers the newest task Swarm wants running', () => {
    const old = task('running', 'running', '2026-01-01T00:00:01Z');
    const dying = task('running', 'shutdown', '2026-01-01T00:00:09Z');
    const fresh = task('starting', 'running', '2026-01-01T00:00:05Z');
    expect(currentTask([old, dying, fresh])).toBe(fresh);
    expect(currentTask([dying])).toBe(dying);
    expect(currentTask([])).toBeUndefined();
  });
  it('taskFailure names rejected and failed tasks only', () => {
    expect(taskFailure({ ID: 'a', Status: { State: 'rejected', Err: 'No such image: x' } })).toBe('task rejected: No such image: x');
    expect(taskFailure(task('running'))).toBeNull();
    expect(taskFailure(undefined)).toBeNull();
  });
  it('anyTaskLive: running or on its way up, and meant to run', () => {
    expect(anyTaskLive([task('shutdown', 'shutdown'), task('complete', 'shutdown')])).toBe(false);
    expect(anyTaskLive([task('shutdown', 'shutdown'), task('assigned')])).toBe(true);
    expect(anyTaskLive([task('running')])).toBe(true);
    // Shut down by Swarm when its node went down: still `running` in the listing, but dead.
    expect(anyTaskLive([task('running', 'shutdown')])).toBe(false);
  });
  it('withoutStranded drops only the shut-down tasks of nodes that are down', () => {
    const onDown = task('running', 'shutdown', undefined, { NodeID: 'n2' });
    const stopping = task('running', 'shutdown', undefined, { NodeID: 'n1' });
    const wanted = task('running', 'running', undefined, { NodeID: 'n2' });
    expect(withoutStranded([onDown, stopping, wanted], new Set(['n2']))).toEqual([stopping, wanted]);
    expect(withoutStranded([onDown], new Set())).toEqual([onDown]);
  });
  it('isOutOfSequence matches Swarm\'s version conflict only', () => {
    expect(isOutOfSequence(new Error('(HTTP code 500) server error - rpc error: code = Unknown desc = update out of sequence'))).toBe(true);
    expect(isOutOfSequence(new Error('no such service'))).toBe(false);
  });
});

describe('diffInfos: listings turned into the port\'s events', () => {
  const info = (state: ContainerInfo['state'], hasHealthcheck = false): ContainerInfo => ({
    id: 'svc1', name: 'spawner-u1', image: 'i', state, health: state === 'running' && hasHealthcheck ? 'healthy' : 'none',
    hasHealthcheck, labels: { origin: 'spawner' }, ips: {},
  });
  const kinds = (prev: ContainerInfo[], next: ContainerInfo[]) =>
    diffInfos(new Map(prev.map((i) => [i.id, i])), new Map(next.map((i) => [i.id, i])), 5).map((e) => [e.kind, e.health]);
  it('a new service is create, a task up is start (+ healthy), a task gone is die, a service gone is destroy', () => {
    expect(kinds([], [info('exited')])).toEqual([['create', undefined]]);
    expect(kinds([info('exited')], [info('running', true)])).toEqual([['start', undefined], ['health', 'healthy']]);
    expect(kinds([info('running')], [info('exited')])).toEqual([['die', undefined]]);
    expect(kinds([info('exited')], [])).toEqual([['destroy', undefined]]);
  });
  it('nothing changed: no event', () => {
    expect(kinds([info('running')], [info('running')])).toEqual([]);
  });
});
