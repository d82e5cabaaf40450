/**
 * DockerRuntime.watch across a Docker daemon restart, with a fake dockerode: the event stream
 * errors (daemon gone), reconnects are refused for a while (backoff grows, capped), then a new
 * stream is accepted: onReconnect fires again (the caller rescans) and later events arrive.
 * Fake timers drive the backoff; no sleeps.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DockerRuntime } from './docker.js';
import type { RuntimeEvent } from './types.js';

afterEach(() => { vi.useRealTimers(); });

const line = (action: string, id: string) => `${JSON.stringify({
  Type: 'container', Action: action, Actor: { ID: id, Attributes: { name: `c-${id}`, 'spawner.id': 'sp' } }, time: 1_700_000_000,
})}\n`;

function fakeDocker(script: (attempt: number) => Promise<PassThrough>) {
  const calls: { at: number; filters: unknown }[] = [];
  const docker = {
    getEvents: vi.fn(async (opts: { filters: unknown }) => {
      calls.push({ at: Date.now(), filters: opts.filters });
      return script(calls.length);
    }),
  };
  return { docker: docker as unknown as Docker, calls };
}

describe('DockerRuntime.watch across a daemon restart', () => {
  it('reconnects with capped backoff after the stream errors, rescans on every connection, delivers later events', async () => {
    vi.useFakeTimers({ now: 0 });
    const streams: PassThrough[] = [];
    const refused = Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' });
    const { docker, calls } = fakeDocker(async (n) => {
      if (n >= 2 && n <= 8) throw refused; // the daemon is down for a while
      const s = new PassThrough();
      streams.push(s);
      return s;
    });
    const events: RuntimeEvent[] = [];
    const errors: string[] = [];
    let reconnects = 0;
    const ac = new AbortController();
    new DockerRuntime(docker).watch({ origin: 'spawner', 'spawner.id': 'sp' }, (e) => events.push(e), {
      signal: ac.signal,
      onReconnect: () => { reconnects++; },
      onError: (e) => errors.push((e as Error).message),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(reconnects).toBe(1);
    expect(calls[0]?.filters).toEqual({ type: ['container'], label: ['origin=spawner', 'spawner.id=sp'] });
    streams[0]?.write(line('start', 'a'));
    await vi.advanceTimersByTimeAsync(0);
    expect(events.map((e) => `${e.kind}:${e.id}`)).toEqual(['start:a']);

    // dockerd goes away: the open stream errors.
    streams[0]?.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(9);
    const gaps = calls.slice(1).map((c, i) => c.at - (calls[i]?.at ?? 0));
    expect(gaps).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]); // capped at 5 s
    expect(errors[0]).toBe('socket hang up');
    expect(errors.filter((e) => e.includes('ECONNREFUSED'))).toHaveLength(7);
    expect(reconnects).toBe(2); // the caller rescans after the daemon is back

    // Back: the new stream delivers what happens next.
    streams[1]?.write(line('die', 'a'));
    await vi.advanceTimersByTimeAsync(0);
    expect(events.map((e) => `${e.kind}:${e.id}`)).toEqual(['start:a', 'die:a']);

    // A stream that just ends (daemon shut down cleanly) is reported and reconnected from 100 ms.
    streams[1]?.end();
    await vi.advanceTimersByTimeAsync(100);
    expect(errors.at(-1)).toBe('event stream ended');
    expect(calls).toHaveLength(10);
    expect(reconnects).toBe(3);

    ac.abort();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(10);
    expect(streams[2]?.destroyed).toBe(true);
  });
});
