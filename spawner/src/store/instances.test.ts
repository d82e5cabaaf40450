import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpawnerError } from '../errors.js';
import type { InstanceRecord } from '../instances/types.js';
import { openDatabase, type Database } from './db.js';
import { EventLog } from './events.js';
import { InstanceStore } from './instances.js';

function rec(name: string, over: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    name,
    containerId: null,
    image: 'mock-app:latest',
    network: 'spawner',
    port: 9000,
    routing: 'cookie',
    public: false,
    secretHash: null,
    healthCheck: null,
    idleTimeoutSec: null,
    labels: {},
    createdAt: 1_000,
    lastWakeAt: null,
    lastActivityAt: null,
    ...over,
  };
}

let db: Database;
let store: InstanceStore;
beforeEach(() => {
  db = openDatabase(':memory:');
  store = new InstanceStore(db);
});
afterEach(() => db.close());

describe('InstanceStore', () => {
  it('round-trips every field', () => {
    const full = rec('alice', {
      containerId: 'c1',
      routing: 'host',
      public: true,
      secretHash: 'ab'.repeat(32),
      healthCheck: 'http://alice:9000/health',
      idleTimeoutSec: 0,
      labels: { team: 'a', 'weird "key"': 'ünï\ncode' },
      lastWakeAt: 5,
      lastActivityAt: 6,
    });
    store.insert(full);
    // `revision` is read from instance_revisions (none yet), never written through this store.
    expect(store.get('alice')).toEqual({ ...full, revision: null });
    expect(store.getByContainerId('c1')).toEqual({ ...full, revision: null });
  });

  it('returns undefined for unknown names and containers', () => {
    expect(store.get('nobody')).toBeUndefined();
    expect(store.getByContainerId('nope')).toBeUndefined();
  });

  it('inserting an existing name is a conflict on "name"', () => {
    store.insert(rec('alice'));
    const err = (() => {
      try {
        store.insert(rec('alice', { image: 'other' }));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(SpawnerError);
    expect(err).toMatchObject({ code: 'conflict', field: 'name', status: 409 });
    expect(store.get('alice')?.image).toBe('mock-app:latest');
  });

  it('one container cannot back two instances', () => {
    store.insert(rec('a', { containerId: 'c1' }));
    store.insert(rec('b'));
    expect(() => store.setContainerId('b', 'c1')).toThrow(
      expect.objectContaining({ code: 'conflict', field: 'containerId' }),
    );
  });

  it('lists by name, counts, sets container ids, deletes', () => {
    store.insert(rec('b'));
    store.insert(rec('a'));
    expect(store.list().map((r) => r.name)).toEqual(['a', 'b']);
    expect(store.count()).toBe(2);
    expect(store.setContainerId('a', 'cid')).toBe(true);
    expect(store.getByContainerId('cid')?.name).toBe('a');
    expect(store.setContainerId('a', null)).toBe(true);
    expect(store.get('a')?.containerId).toBeNull();
    expect(store.setContainerId('zzz', 'x')).toBe(false);
    expect(store.delete('a')).toBe(true);
    expect(store.delete('a')).toBe(false);
    expect(store.count()).toBe(1);
  });

  it('activity and wake times only move forward', () => {
    store.insert(rec('a'));
    expect(store.touchActivity('a', 100)).toBe(true);
    store.touchActivity('a', 50);
    store.touchWake('a', 70);
    store.touchWake('a', 20);
    expect(store.get('a')).toMatchObject({ lastActivityAt: 100, lastWakeAt: 70 });
    expect(store.touchWake('missing', 1)).toBe(false);
  });

  it('deleting an instance keeps its lifecycle events', () => {
    const log = new EventLog(db);
    store.insert(rec('a'));
    log.append({ instance: 'a', kind: 'deployed' }, 1);
    store.delete('a');
    log.append({ instance: 'a', kind: 'removed', reason: 'api' }, 2);
    expect(log.list({ instance: 'a' }).map((e) => e.kind)).toEqual(['deployed', 'removed']);
  });
});
