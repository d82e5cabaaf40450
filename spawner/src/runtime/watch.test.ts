import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { cappedBackoff, watchWithBackoff } from './watch.js';

/** Resolves once `cond` holds, checking after each macrotask turn (no timers involved). */
async function until(cond: () => boolean, turns = 200): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await tick();
  }
  throw new Error('condition not reached');
}

describe('cappedBackoff', () => {
  it('doubles up to the cap and starts over after reset', () => {
    const b = cappedBackoff(100, 700);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 700, 700]);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('defaults: 100 ms first, 5 s cap', () => {
    const b = cappedBackoff();
    const seq = Array.from({ length: 10 }, () => b.next());
    expect(seq[0]).toBe(100);
    expect(Math.max(...seq)).toBe(5_000);
  });
});

describe('watchWithBackoff', () => {
  it('reconnects after failed connects with growing, capped delays; onReconnect after the connection', async () => {
    const ac = new AbortController();
    const sleeps: number[] = [];
    const errors: string[] = [];
    const order: string[] = [];
    let attempts = 0;
    const stream = new PassThrough();
    watchWithBackoff({
      signal: ac.signal,
      backoff: cappedBackoff(10, 40),
      sleep: async (ms) => { sleeps.push(ms); },
      connect: async () => {
        attempts++;
        order.push(`connect ${attempts}`);
        if (attempts <= 4) throw new Error(`refused ${attempts}`);
        return stream;
      },
      onLine: () => undefined,
      onReconnect: () => { order.push('reconnect'); },
      onError: (e) => { errors.push((e as Error).message); },
    });
    await until(() => order.includes('reconnect'));
    expect(sleeps).toEqual([10, 20, 40, 40]);
    expect(errors).toEqual(['refused 1', 'refused 2', 'refused 3', 'refused 4']);
    expect(order).toEqual(['connect 1', 'connect 2', 'connect 3', 'connect 4', 'connect 5', 'reconnect']);
    ac.abort();
  });

  it('after a stream ends: reports it, backs off from the start again, reconnects and calls onReconnect again', async () => {
    const ac = new AbortController();
    const sleeps: number[] = [];
    const errors: string[] = [];
    const streams: PassThrough[] = [];
    let reconnects = 0;
    watchWithBackoff({
      signal: ac.signal,
      backoff: cappedBackoff(10, 40),
      sleep: async (ms) => { sleeps.push(ms); },
      connect: async () => { const s = new PassThrough(); streams.push(s); return s; },
      onLine: () => undefined,
      onReconnect: () => { reconnects++; },
      onError: (e) => { errors.push((e as Error).message); },
    });
    await until(() => reconnects === 1);
    streams[0]?.end();
    await until(() => reconnects === 2);
    streams[1]?.destroy(new Error('socket hang up'));
    await until(() => reconnects === 3);
    expect(errors).toEqual(['event stream ended', 'socket hang up']);
    expect(sleeps).toEqual([10, 10]); // reset after every successful connection
    expect(streams).toHaveLength(3);
    ac.abort();
  });

  it('delivers complete, trimmed, non-empty lines, even when split across chunks', async () => {
    const ac = new AbortController();
    const lines: string[] = [];
    const stream = new PassThrough();
    let connected = false;
    watchWithBackoff({
      signal: ac.signal,
      sleep: async () => undefined,
      connect: async () => stream,
      onLine: (l) => lines.push(l),
      onReconnect: () => { connected = true; },
    });
    await until(() => connected);
    stream.write('{"a":');
    stream.write('1}\n\n  {"b":2}  \n{"c"');
    await until(() => lines.length >= 2);
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    stream.write(':3}\n');
    await until(() => lines.length >= 3);
    expect(lines[2]).toBe('{"c":3}');
    ac.abort();
  });

  it('abort while connected destroys the stream and stops for good', async () => {
    const ac = new AbortController();
    let attempts = 0;
    let sleeps = 0;
    const errors: unknown[] = [];
    const stream = new PassThrough();
    watchWithBackoff({
      signal: ac.signal,
      sleep: async () => { sleeps++; },
      connect: async () => { attempts++; return stream; },
      onLine: () => undefined,
      onError: (e) => errors.push(e),
    });
    await until(() => attempts === 1);
    await tick();
    ac.abort();
    await until(() => stream.destroyed);
    for (let i = 0; i < 10; i++) await tick();
    expect(attempts).toBe(1);
    expect(sleeps).toBe(0);
    expect(errors).toEqual([]);
  });

  it('abort during the backoff sleep stops without another connect', async () => {
    const ac = new AbortController();
    let attempts = 0;
    let sleeping!: () => void;
    const asleep = new Promise<void>((r) => { sleeping = r; });
    watchWithBackoff({
      signal: ac.signal,
      sleep: (_ms, signal) => new Promise<void>((resolve) => {
        sleeping();
        signal.addEventListener('abort', () => resolve(), { once: true });
      }),
      connect: async () => { attempts++; throw new Error('refused'); },
      onLine: () => undefined,
    });
    await asleep;
    ac.abort();
    for (let i = 0; i < 10; i++) await tick();
    expect(attempts).toBe(1);
  });

  it('a connect that fails because of the abort is not reported as an error', async () => {
    const ac = new AbortController();
    const errors: unknown[] = [];
    let attempts = 0;
    watchWithBackoff({
      signal: ac.signal,
      sleep: async () => undefined,
      connect: (signal) => new Promise((_r, reject) => {
        attempts++;
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      }),
      onLine: () => undefined,
      onError: (e) => errors.push(e),
    });
    await until(() => attempts === 1);
    ac.abort();
    for (let i = 0; i < 10; i++) await tick();
    expect(errors).toEqual([]);
    expect(attempts).toBe(1);
  });
});
