import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from './db.js';
import { InstanceStore } from './instances.js';
import { RevisionStore } from './revisions.js';
import { Revisions } from '../instances/revisions.js';

let db: Database;
let instances: InstanceStore;
let store: RevisionStore;
const KEY = Buffer.alloc(32, 7);
const spec = {
  image: 'mock-app:1', network: 'spawner', port: 9000, routing: 'cookie' as const, public: false, egress: true,
  labels: { team: 'a' }, traefikLabels: {}, env: { DB_PASSWORD: 'hunter2' }, limits: { memoryMb: 256, cpus: 0.5, pids: 256 },
};

beforeEach(() => {
  db = openDatabase(':memory:');
  instances = new InstanceStore(db);
  store = new RevisionStore(db);
  instances.insert({
    name: 'a', containerId: null, image: 'mock-app:1', network: 'spawner', port: 9000, routing: 'cookie', public: false,
    secretHash: null, healthCheck: null, idleTimeoutSec: null, labels: {}, createdAt: 1, lastWakeAt: null, lastActivityAt: null,
  });
});
afterEach(() => db.close());

describe('revisions', () => {
  it('numbers them per instance; one active at a time; the instance shows the active one', () => {
    const r = new Revisions(store, KEY, 10);
    r.deployed('a', spec, 'alice', 1, 'c1', 'sha256:1');
    expect(instances.get('a')?.revision).toBe(1);
    expect(store.nextNumber('a')).toBe(2);
    r.record('a', 2, { ...spec, image: 'mock-app:2' }, 'bob', 2);
    expect(store.active('a')?.n).toBe(1);
    store.activate('a', 2, 'c2', null, 10);
    expect(store.list('a').map((x) => [x.n, x.status])).toEqual([[2, 'active'], [1, 'superseded']]);
    expect(instances.get('a')?.revision).toBe(2);
  });

  it('seals the env with the key (a copy of the database shows no secret) and opens it again', () => {
    const r = new Revisions(store, KEY, 10);
    r.deployed('a', spec, 'alice', 1, 'c1', null);
    const raw = db.prepare('SELECT env, spec FROM instance_revisions').get() as { env: Buffer; spec: string };
    expect(raw.env.toString('latin1')).not.toContain('hunter2');
    expect(raw.spec).not.toContain('hunter2');
    const row = store.get('a', 1);
    expect(row && r.specOf(row).env).toEqual({ DB_PASSWORD: 'hunter2' });
    expect(row && r.view(row)).toMatchObject({ revision: 1, envKeys: ['DB_PASSWORD'], createdBy: 'alice', status: 'active' });
    expect(JSON.stringify(row && r.view(row))).not.toContain('hunter2');
    // Without the key the sealed env cannot be opened (a redeploy is refused, never guessed).
    expect(() => row && new Revisions(store, null, 10).specOf(row)).toThrow(/sealed/);
  });

  it('is immutable in what it ran; only pending revisions can fail', () => {
    const r = new Revisions(store, null, 10);
    r.deployed('a', spec, 'alice', 1, 'c1', null);
    expect(() => db.prepare("UPDATE instance_revisions SET image = 'x'").run()).toThrow(/immutable/);
    expect(store.fail('a', 1, 'gate', 'no')).toBe(false);
    r.record('a', 2, spec, 'alice', 2);
    expect(store.fail('a', 2, 'gate', 'never ready')).toBe(true);
    expect(store.get('a', 2)).toMatchObject({ status: 'failed', failedStep: 'gate', reason: 'never ready' });
  });

  it('keeps the last K non-active revisions and drops older ones', () => {
    const r = new Revisions(store, null, 2);
    r.deployed('a', spec, 'alice', 1, 'c1', null);
    for (let n = 2; n <= 5; n++) {
      r.record('a', n, spec, 'alice', n);
      store.activate('a', n, `c${n}`, null, 2);
    }
    expect(store.list('a').map((x) => x.n)).toEqual([5, 4, 3]);
    expect(store.nextNumber('a')).toBe(6);
  });

  it('go with their instance', () => {
    new Revisions(store, null, 10).deployed('a', spec, 'alice', 1, 'c1', null);
    instances.delete('a');
    expect(store.list('a')).toEqual([]);
  });
});
