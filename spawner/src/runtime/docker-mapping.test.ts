import { describe, expect, it } from 'vitest';
import {
  healthcheckPlan, instanceHealthcheck, labelFilters, summaryInfo, toContainerInfo, toRuntimeEvent, versionAtLeast,
} from './docker-mapping.js';

const ID = 'c'.repeat(64);

describe('toContainerInfo', () => {
  it('maps a full inspect answer', () => {
    const info = toContainerInfo({
      Id: ID,
      Name: '/spawner-alice',
      Config: {
        Image: 'mock-app:latest',
        Labels: { origin: 'spawner', 'spawner.id': 'x' },
        Healthcheck: { Test: ['CMD', 'wget', '-q', 'http://localhost:9000/'] },
      },
      State: { Status: 'running', Health: { Status: 'starting' }, StartedAt: '2024-01-01T00:00:00Z', ExitCode: 0 },
      NetworkSettings: { Networks: { spawner: { IPAddress: '172.18.0.5' }, other: { IPAddress: '' } } },
    });
    expect(info).toEqual({
      id: ID,
      name: 'spawner-alice',
      image: 'mock-app:latest',
      state: 'running',
      health: 'starting',
      hasHealthcheck: true,
      labels: { origin: 'spawner', 'spawner.id': 'x' },
      ips: { spawner: '172.18.0.5' },
      startedAt: '2024-01-01T00:00:00Z',
      exitCode: 0,
    });
  });

  it('fills defaults for a sparse answer', () => {
    const info = toContainerInfo({ Id: ID });
    expect(info).toMatchObject({
      id: ID, name: '', image: '', state: 'dead', health: 'none', hasHealthcheck: false, labels: {}, ips: {},
    });
  });

  it('null labels become {}', () => {
    expect(toContainerInfo({ Id: ID, Config: { Labels: null } }).labels).toEqual({});
  });

  it.each(['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'])('keeps state %s', (s) => {
    expect(toContainerInfo({ Id: ID, State: { Status: s } }).state).toBe(s);
  });

  it('an unknown state is treated as dead', () => {
    expect(toContainerInfo({ Id: ID, State: { Status: 'zombie' } }).state).toBe('dead');
  });

  it.each([
    [undefined, 'none'], ['healthy', 'healthy'], ['unhealthy', 'unhealthy'], ['starting', 'starting'], ['weird', 'none'],
  ])('health %s → %s', (raw, expected) => {
    expect(toContainerInfo({ Id: ID, State: { Health: raw === undefined ? undefined : { Status: raw } } }).health).toBe(expected);
  });

  it.each([
    [undefined, false],
    [[], false],
    [['NONE'], false],
    [['CMD-SHELL', 'true'], true],
  ])('Healthcheck.Test %j → hasHealthcheck %s', (test, expected) => {
    expect(toContainerInfo({ Id: ID, Config: { Healthcheck: test === undefined ? {} : { Test: test } } }).hasHealthcheck).toBe(expected);
  });
});

describe('toRuntimeEvent', () => {
  const line = (o: Record<string, unknown>) => JSON.stringify(o);
  const base = {
    Type: 'container', id: ID, time: 1_700_000_000,
    Actor: { ID, Attributes: { name: 'spawner-alice', image: 'mock-app:latest', exitCode: '0', origin: 'spawner', 'spawner.id': 'x' } },
  };

  it.each(['create', 'start', 'die', 'stop', 'destroy'])('maps %s', (action) => {
    expect(toRuntimeEvent(line({ ...base, Action: action }))).toEqual({
      kind: action, id: ID, name: 'spawner-alice', labels: { origin: 'spawner', 'spawner.id': 'x' }, time: 1_700_000_000_000,
    });
  });

  it('maps "health_status: healthy" to a health event', () => {
    expect(toRuntimeEvent(line({ ...base, Action: 'health_status: healthy' }))).toEqual({
      kind: 'health', id: ID, name: 'spawner-alice', labels: { origin: 'spawner', 'spawner.id': 'x' },
      health: 'healthy', time: 1_700_000_000_000,
    });
  });

  it.each([
    ['health_status: unhealthy', 'unhealthy'],
    ['health_status: starting', 'starting'],
    ['health_status:healthy', 'healthy'],
    ['health_status', 'none'],
  ])('%s → health %s', (action, health) => {
    expect(toRuntimeEvent(line({ ...base, Action: action }))?.health).toBe(health);
  });

  it('prefers timeNano (ms precision) over time', () => {
    expect(toRuntimeEvent(line({ ...base, Action: 'start', timeNano: 1_700_000_000_123_456_789 }))?.time).toBe(1_700_000_000_123);
  });

  it('takes the id from Actor.ID, else from id', () => {
    expect(toRuntimeEvent(line({ Type: 'container', Action: 'start', id: 'legacy', time: 1 }))?.id).toBe('legacy');
  });

  it('maps the API >= 1.52 shape, which no longer has the deprecated id, status and from fields', () => {
    // As Docker 29 (API 1.56) sends it.
    const current = { Type: 'container', Action: 'start', scope: 'local', time: 1, timeNano: 1_000_000_000, Actor: { ID, Attributes: { name: 'spawner-alice' } } };
    expect(toRuntimeEvent(line(current))).toEqual({ kind: 'start', id: ID, name: 'spawner-alice', labels: {}, time: 1_000 });
  });

  it('does not let the caller-controlled attributes name/image/exitCode pose as labels', () => {
    const ev = toRuntimeEvent(line({ ...base, Action: 'die' }));
    expect(ev?.labels).not.toHaveProperty('name');
    expect(ev?.labels).not.toHaveProperty('image');
    expect(ev?.labels).not.toHaveProperty('exitCode');
  });

  it.each([
    ['not JSON', 'not json'],
    ['empty', ''],
    ['network event', line({ Type: 'network', Action: 'connect', Actor: { ID } })],
    ['image event', line({ Type: 'image', Action: 'pull', Actor: { ID } })],
    ['untracked action', line({ ...base, Action: 'exec_start: sh' })],
    ['kill', line({ ...base, Action: 'kill' })],
    ['no action', line({ Type: 'container', Actor: { ID } })],
  ])('%s → null', (_d, raw) => {
    expect(toRuntimeEvent(raw)).toBeNull();
  });
});

describe('versionAtLeast', () => {
  it.each([
    ['1.41', '1.44', false],
    ['1.44', '1.44', true],
    ['1.45', '1.44', true],
    ['1.100', '1.44', true],
    ['1.9', '1.10', false],
    ['2.0', '1.44', true],
    ['1.44.1', '1.44', true],
    ['1.44', '1.44.1', false],
    ['1', '1.0', true],
  ])('%s ≥ %s is %s', (v, min, expected) => {
    expect(versionAtLeast(v, min)).toBe(expected);
  });
});

describe('labelFilters', () => {
  it('turns a label map into key=value filters', () => {
    expect(labelFilters({ origin: 'spawner', 'spawner.id': 'x' })).toEqual(['origin=spawner', 'spawner.id=x']);
  });
});

describe('summaryInfo (list endpoint, no inspect)', () => {
  it('maps a running healthy container from its status text', () => {
    const i = summaryInfo({
      Id: 'abc', Names: ['/spawner-a'], Image: 'mock-app:dev', State: 'running', Status: 'Up 3 minutes (healthy)',
      Labels: { origin: 'spawner' }, NetworkSettings: { Networks: { spawner: { IPAddress: '172.18.0.5' } } },
    });
    expect(i).toEqual({
      id: 'abc', name: 'spawner-a', image: 'mock-app:dev', state: 'running', health: 'healthy', hasHealthcheck: true,
      labels: { origin: 'spawner' }, ips: { spawner: '172.18.0.5' },
    });
  });

  it.each([
    ['Up 2 seconds (health: starting)', 'running', 'starting'],
    ['Up 1 minute (unhealthy)', 'running', 'unhealthy'],
    ['Up 1 minute', 'running', 'none'],
    ['Exited (0) 5 seconds ago', 'exited', 'none'],
  ] as const)('%s → %s/%s', (status, state, health) => {
    const i = summaryInfo({ Id: 'x', State: state, Status: status });
    expect([i.state, i.health]).toEqual([state, health]);
  });

  it('an unknown state is dead, not trusted', () => {
    expect(summaryInfo({ Id: 'x', State: 'weird' }).state).toBe('dead');
  });
});

describe('healthcheckPlan and instanceHealthcheck: the health StartInterval path by engine', () => {
  const image = { Test: ['CMD', 'node', 'dist/healthcheck.js'], Interval: 2_000_000_000, Retries: 3, StartPeriod: 30_000_000_000 };

  it.each([
    ['1.41', false], // Debian 12's docker.io 20.10
    ['1.43', false],
    ['1.44', true], // Docker 25
    ['1.56', true], // Docker 29
  ])('API %s: StartInterval %s, and the reason names the version and the threshold', (api, on) => {
    const plan = healthcheckPlan(api);
    expect(plan.startInterval).toBe(on);
    expect(plan.reason).toContain(`API ${api} ${on ? '>=' : '<'} 1.44`);
  });

  it('on API >= 1.44 sends the image\'s own HEALTHCHECK with the start interval added', () => {
    expect(instanceHealthcheck(healthcheckPlan('1.56'), image, 100_000_000)).toEqual({ ...image, StartInterval: 100_000_000 });
  });

  it('on older engines sends nothing (the field would be refused): the image\'s HEALTHCHECK applies', () => {
    expect(instanceHealthcheck(healthcheckPlan('1.41'), image, 100_000_000)).toBeUndefined();
  });

  it.each([
    ['no HEALTHCHECK', undefined],
    ['HEALTHCHECK NONE', { Test: ['NONE'] }],
    ['empty test', { Test: [] }],
  ])('sends nothing for an image with %s, whatever the engine', (_d, hc) => {
    expect(instanceHealthcheck(healthcheckPlan('1.56'), hc, 100_000_000)).toBeUndefined();
  });
});
