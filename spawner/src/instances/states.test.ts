import { describe, expect, it } from 'vitest';
import type { ContainerInfo, RuntimeEvent } from '../runtime/types.js';
import { memoryDeps } from '../testing/fixtures.js';
import { ContainerStates } from './states.js';
import { InstanceService } from './service.js';

const info = (id: string, state: ContainerInfo['state'], health: ContainerInfo['health'] = 'none'): ContainerInfo => ({
  id, name: id, image: 'i', state, health, hasHealthcheck: health !== 'none', labels: {}, ips: {},
});
const ev = (kind: RuntimeEvent['kind'], id: string, health?: RuntimeEvent['health']): RuntimeEvent => ({ kind, id, name: id, labels: {}, time: 0, health });

describe('ContainerStates', () => {
  it('is not ready until a full rescan replaced it', () => {
    const s = new ContainerStates();
    expect(s.ready).toBe(false);
    s.replaceAll([info('a', 'running', 'healthy'), info('b', 'exited', 'unhealthy')]);
    expect(s.ready).toBe(true);
    expect(s.get('a')).toEqual({ state: 'running', health: 'healthy' });
    // a stopped container's last health says nothing
    expect(s.get('b')).toEqual({ state: 'exited', health: 'none' });
  });

  it('follows events: start, health, die, destroy; health of a stopped container is ignored', () => {
    const s = new ContainerStates();
    s.apply(ev('create', 'a'));
    expect(s.get('a')?.state).toBe('created');
    s.apply(ev('start', 'a'));
    s.apply(ev('health', 'a', 'healthy'));
    expect(s.get('a')).toEqual({ state: 'running', health: 'healthy' });
    s.apply(ev('die', 'a'));
    s.apply(ev('health', 'a', 'unhealthy'));
    expect(s.get('a')).toEqual({ state: 'exited', health: 'none' });
    s.apply(ev('destroy', 'a'));
    expect(s.get('a')).toBeUndefined();
  });

  it('is not trusted after the event stream broke, until the next rescan', () => {
    const s = new ContainerStates();
    s.replaceAll([info('a', 'running')]);
    s.invalidate();
    expect(s.ready).toBe(false);
    s.replaceAll([info('a', 'exited')]);
    expect(s.ready).toBe(true);
    expect(s.get('a')?.state).toBe('exited');
  });

  it('a rescan repairs what events missed', () => {
    const s = new ContainerStates();
    s.replaceAll([info('a', 'running')]);
    s.replaceAll([info('b', 'exited')]);
    expect(s.get('a')).toBeUndefined();
    expect(s.get('b')?.state).toBe('exited');
  });
});

describe('ContainerStates single inspects', () => {
  it('an inspect answered after a newer event of its container does not overwrite that event', () => {
    const s = new ContainerStates();
    s.endRescan(s.beginRescan(), [info('a', 'running', 'starting'), info('b', 'running', 'starting')]);
    const mark = s.mark(); // the inspects of a and b are sent
    s.apply(ev('health', 'a', 'healthy')); // the engine said healthy meanwhile
    s.set(info('a', 'running', 'starting'), mark); // a's inspect answers with what it saw before
    s.set(info('b', 'running', 'healthy'), mark); // b had no event: its inspect is the news
    expect(s.get('a')?.health).toBe('healthy');
    expect(s.get('b')?.health).toBe('healthy');
    // An inspect sent after the event is newer than it, and without a mark it is always written.
    s.set(info('a', 'exited'), s.mark());
    expect(s.get('a')?.state).toBe('exited');
    s.set(info('a', 'running', 'unhealthy'));
    expect(s.get('a')?.health).toBe('unhealthy');
  });

  it('observe() marks before its inspect: an event during the inspect wins over the answer', async () => {
    const s = new ContainerStates();
    s.endRescan(s.beginRescan(), [info('a', 'running', 'starting')]);
    const got = await s.observe(async () => {
      s.apply(ev('health', 'a', 'healthy')); // arrives while the inspect is on its way
      return info('a', 'running', 'starting');
    });
    expect(got?.health).toBe('starting'); // the caller gets the answer as it came
    expect(s.get('a')?.health).toBe('healthy'); // the cache keeps the newer event
    expect(await s.observe(async () => info('a', 'exited'))).toMatchObject({ state: 'exited' });
    expect(s.get('a')?.state).toBe('exited'); // no event since: the answer is the news
    expect(await s.observe(async () => null)).toBeNull();
    expect(s.get('a')?.state).toBe('exited');
  });
});

describe('ContainerStates rescan base', () => {
  it('is not primed before a rescan ended; endRescan primes it and fills the cache as replaceAll does', () => {
    const s = new ContainerStates();
    s.apply(ev('start', 'a'));
    const b0 = s.beginRescan();
    expect(b0.primed).toBe(false);
    expect([...b0.states]).toEqual([['a', 'running']]); // events before the first rescan count
    s.endRescan(b0, [info('a', 'running', 'healthy'), info('b', 'exited', 'unhealthy')]);
    expect(s.ready).toBe(true);
    expect(s.get('a')).toEqual({ state: 'running', health: 'healthy' });
    expect(s.get('b')).toEqual({ state: 'exited', health: 'none' });
    const b1 = s.beginRescan();
    expect(b1.primed).toBe(true);
    expect([...b1.states]).toEqual([['a', 'running'], ['b', 'exited']]);
  });

  it('moves with events and rescans only, not with single inspects or the list() fallback', () => {
    const s = new ContainerStates();
    s.endRescan(s.beginRescan(), [info('a', 'running'), info('b', 'running')]);
    s.invalidate(); // the stream broke: the base stays the last known state
    s.replaceAll([info('a', 'exited')]); // GET /deploy while the stream is still down
    s.set(info('b', 'exited')); // GET /deploy/b
    expect(s.get('a')?.state).toBe('exited');
    expect([...s.beginRescan().states]).toEqual([['a', 'running'], ['b', 'running']]);
    s.apply(ev('die', 'a'));
    s.apply(ev('destroy', 'b'));
    s.apply(ev('create', 'c'));
    expect([...s.beginRescan().states]).toEqual([['a', 'exited'], ['c', 'created']]);
  });

  it('changedSince: only ids an event touched after the base was taken', () => {
    const s = new ContainerStates();
    s.apply(ev('start', 'a'));
    const base = s.beginRescan();
    expect(s.changedSince(base, 'a')).toBe(false);
    s.apply(ev('health', 'a', 'healthy')); // says nothing about running or not
    expect(s.changedSince(base, 'a')).toBe(false);
    s.apply(ev('die', 'a'));
    s.apply(ev('create', 'z'));
    expect(s.changedSince(base, 'a')).toBe(true);
    expect(s.changedSince(base, 'z')).toBe(true);
    expect(s.changedSince(s.beginRescan(), 'a')).toBe(false);
  });

  it('endRescan keeps what events said during the list over the (possibly older) list, in the base and in what GET /deploy shows', () => {
    const s = new ContainerStates();
    s.endRescan(s.beginRescan(), [info('a', 'running'), info('b', 'running'), info('c', 'running')]);
    const base = s.beginRescan();
    // The engine answered the list (all running), then these events arrived before it returned.
    s.apply(ev('die', 'a'));
    s.apply(ev('destroy', 'b'));
    s.apply(ev('create', 'd'));
    s.endRescan(base, [info('a', 'running'), info('b', 'running'), info('c', 'exited')]);
    expect([...s.beginRescan().states].sort()).toEqual([['a', 'exited'], ['c', 'exited'], ['d', 'created']]);
    // The display cache follows those events too: a stop or removal during the list stays one.
    expect(s.get('a')?.state).toBe('exited');
    expect(s.get('b')).toBeUndefined();
    expect(s.get('c')?.state).toBe('exited');
    expect(s.get('d')?.state).toBe('created');
    // Those marks served their rescan: the next base does not see them as changed.
    const next = s.beginRescan();
    expect(['a', 'b', 'd'].some((id) => s.changedSince(next, id))).toBe(false);
  });

  it('endRescan keeps the base state of deferred ids so the next rescan looks again', () => {
    const s = new ContainerStates();
    s.endRescan(s.beginRescan(), [info('a', 'running'), info('b', 'running')]);
    const base = s.beginRescan();
    s.endRescan(base, [info('a', 'exited'), info('b', 'exited')], ['a', 'gone-id']);
    expect([...s.beginRescan().states]).toEqual([['a', 'running'], ['b', 'exited']]);
    expect(s.get('a')?.state).toBe('exited');
  });
});

describe('InstanceService.list reads the cache once primed', () => {
  it('asks the engine to list only the first time; events keep it current', async () => {
    const deps = memoryDeps();
    const service = new InstanceService(deps);
    await service.deploy({
      name: 'a', image: 'mock-app:latest', network: 'spawner', port: 9000, routing: 'cookie', public: false, egress: true,
      labels: {}, traefikLabels: {}, env: {}, limits: { memoryMb: 256, cpus: 0.5, pids: 256 },
    });
    const lists = () => deps.runtime.calls.filter((c) => c.op === 'list').length;
    expect((await service.list()).map((v) => v.status)).toEqual(['running']);
    expect(lists()).toBe(1);
    const id = deps.instances.get('a')?.containerId as string;
    service.states.apply(ev('die', id));
    expect((await service.list()).map((v) => v.status)).toEqual(['exited']);
    expect(lists()).toBe(1);
    expect(service.instancesByState()).toEqual([[{ state: 'exited' }, 1]]);
    deps.db.close();
  });
});
