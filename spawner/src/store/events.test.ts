import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from './db.js';
import { EventLog } from './events.js';

let db: Database;
let log: EventLog;
beforeEach(() => {
  db = openDatabase(':memory:');
  log = new EventLog(db);
});
afterEach(() => db.close());

describe('EventLog', () => {
  it('appends and returns the stored event', () => {
    const ev = log.append(
      { instance: 'a', kind: 'stopped', reason: 'idle', detail: { idleSec: 600 } },
      1234,
    );
    expect(ev).toEqual({
      id: expect.any(Number),
      at: 1234,
      instance: 'a',
      kind: 'stopped',
      reason: 'idle',
      detail: { idleSec: 600 },
    });
    expect(log.append({ instance: 'a', kind: 'started' }, 1300)).toMatchObject({
      reason: null,
      detail: null,
    });
  });

  it('lists newest last, tails by limit, pages by afterId, filters by instance', () => {
    for (let i = 0; i < 10; i++) {
      log.append({ instance: i % 2 ? 'odd' : 'even', kind: 'wake' }, i);
    }
    const all = log.list();
    expect(all.map((e) => e.at)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(log.list({ limit: 3 }).map((e) => e.at)).toEqual([7, 8, 9]);
    expect(log.list({ instance: 'odd', limit: 2 }).map((e) => e.at)).toEqual([7, 9]);
    const afterId = all[4]!.id;
    expect(log.list({ afterId, limit: 2 }).map((e) => e.at)).toEqual([5, 6]);
    expect(log.list({ afterId, instance: 'even' }).map((e) => e.at)).toEqual([6, 8]);
    expect(log.list({ limit: 0 })).toHaveLength(1); // clamped to at least 1
  });

  it('rejects UPDATE and DELETE at the database level', () => {
    log.append({ instance: 'a', kind: 'deployed' }, 1);
    expect(() => db.prepare("UPDATE events SET kind = 'removed'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM events').run()).toThrow(/append-only/);
    expect(log.list()).toHaveLength(1);
  });

  it('exposes no mutating API besides append', () => {
    const methods = Object.getOwnPropertyNames(EventLog.prototype).filter((m) => m !== 'constructor');
    // Reads and observers only: none of them changes a stored event.
    expect(methods.sort()).toEqual(['append', 'countByInstance', 'lastOfKind', 'list', 'subscribe']);
  });
});

describe('EventLog observers and per-kind reads (the console)', () => {
  it('tells subscribers about each stored event, survives a throwing one, and stops after unsubscribe', () => {
    const seen: string[] = [];
    log.subscribe(() => { throw new Error('buggy observer'); });
    const off = log.subscribe((ev) => seen.push(`${ev.instance}:${ev.kind}`));
    log.append({ instance: 'a', kind: 'wake' }, 1);
    off();
    log.append({ instance: 'b', kind: 'wake' }, 2);
    expect(seen).toEqual(['a:wake']);
    expect(log.list()).toHaveLength(2);
  });

  it('reads the newest events of a kind and counts them per instance', () => {
    for (const [i, kind] of (['wake', 'stopped', 'wake', 'wake'] as const).entries()) {
      log.append({ instance: i === 1 ? 'b' : `w${i % 2}`, kind, detail: { total: i } }, i);
    }
    expect(log.lastOfKind('wake', 2).map((e) => e.detail?.total)).toEqual([3, 2]);
    expect(log.countByInstance('wake')).toEqual(new Map([['w0', 2], ['w1', 1]]));
  });
});
