import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { KeyedLock } from './lock.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

describe('KeyedLock', () => {
  it('runs bodies of one key one at a time, in arrival order', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const gates = [deferred(), deferred(), deferred()];
    const runs = gates.map((g, i) => lock.run('k', async () => {
      log.push(`start ${i}`);
      await g.promise;
      log.push(`end ${i}`);
      return i;
    }));
    await tick();
    expect(log).toEqual(['start 0']);
    gates[2]?.resolve(); // finishing out of order must not let 2 overtake
    gates[1]?.resolve();
    await tick();
    expect(log).toEqual(['start 0']);
    gates[0]?.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('does not serialise across keys', async () => {
    const lock = new KeyedLock();
    const a = deferred();
    const log: string[] = [];
    const ra = lock.run('a', async () => { log.push('a'); await a.promise; });
    const rb = lock.run('b', async () => { log.push('b'); });
    await rb; // finishes while a still holds its own lock
    expect(log).toEqual(['a', 'b']);
    expect(lock.isLocked('a')).toBe(true);
    expect(lock.isLocked('b')).toBe(false);
    a.resolve();
    await ra;
  });

  it('a failing body releases the lock and passes its error to its caller only', async () => {
    const lock = new KeyedLock();
    const first = lock.run('k', async () => { throw new Error('boom'); });
    const second = lock.run('k', async () => 'ok');
    await expect(first).rejects.toThrow('boom');
    await expect(second).resolves.toBe('ok');
    expect(lock.isLocked('k')).toBe(false);
  });

  it('a synchronous throw inside an async body is also released', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('k', () => { throw new Error('sync'); })).rejects.toThrow('sync');
    await expect(lock.run('k', async () => 1)).resolves.toBe(1);
    expect(lock.isLocked('k')).toBe(false);
  });

  it('isLocked is true while running or queued and false once all are done', async () => {
    const lock = new KeyedLock();
    expect(lock.isLocked('k')).toBe(false);
    const g1 = deferred();
    const g2 = deferred();
    const r1 = lock.run('k', () => g1.promise);
    const r2 = lock.run('k', () => g2.promise);
    expect(lock.isLocked('k')).toBe(true);
    g1.resolve();
    await r1;
    expect(lock.isLocked('k')).toBe(true); // r2 holds it now
    g2.resolve();
    await r2;
    expect(lock.isLocked('k')).toBe(false);
  });

  it('many concurrent bodies on one key never overlap', async () => {
    const lock = new KeyedLock();
    let active = 0;
    let maxActive = 0;
    await Promise.all(Array.from({ length: 50 }, () => lock.run('k', async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await tick();
      active--;
    })));
    expect(maxActive).toBe(1);
    expect(lock.isLocked('k')).toBe(false);
  });
});
