/**
 * Section 8: the wake listener's hot path (a browser without a cookie is sent home with a 302)
 * under load from a separate process on 127.0.0.1: Debian's `wrk` when installed, else a small
 * undici load generator (loadgen.ts) in a child process.
 */
import { request } from 'undici';
import { fileURLToPath } from 'node:url';
import { run } from './docker.js';
import type { Ctx } from './common.js';

export interface HotPathResult {
  tool: string;
  url: string;
  connections: number;
  durationSec: number;
  requests: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p99: number };
  errors: number;
  /** One sample answer before the run. */
  sample: { status: number; location: string };
}

const CONNECTIONS = 32;

function toMs(v: string): number {
  const m = /^([0-9.]+)(us|ms|s|m)$/.exec(v.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

export function parseWrk(out: string): Omit<HotPathResult, 'tool' | 'url' | 'connections' | 'durationSec' | 'sample'> {
  const pct = (p: string) => toMs(new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const rps = Number(/Requests\/sec:\s+([0-9.]+)/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const sockErr = sock ? sock.slice(1).reduce((s, v) => s + Number(v), 0) : 0;
  return { requests, requestsPerSec: rps, latencyMs: { p50: pct('50'), p99: pct('99') }, errors: non2xx + sockErr };
}

export async function hotPath(ctx: Ctx): Promise<HotPathResult> {
  const url = `${ctx.stack.wake}/`;
  const res = await request(url, { headers: { accept: 'text/html' } });
  await res.body.dump();
  const sample = { status: res.statusCode, location: String(res.headers.location ?? '') };
  if (sample.status !== 302) throw new Error(`hot path sample answered ${sample.status}, expected 302`);
  const secs = ctx.sizes.loadSeconds;
  const hasWrk = (await run('sh', ['-c', 'command -v wrk']).catch(() => ({ code: 1 }))).code === 0;
  if (hasWrk) {
    const r = await run('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${secs}s`, '--timeout', '5s', '--latency', '-H', 'Accept: text/html', url], undefined, (secs + 30) * 1000);
    if (r.code !== 0) throw new Error(`wrk failed: ${r.err.slice(0, 300)}`);
    return { tool: 'wrk -t1', url, connections: CONNECTIONS, durationSec: secs, sample, ...parseWrk(r.out) };
  }
  const script = fileURLToPath(new URL('./loadgen.ts', import.meta.url));
  const loader = fileURLToPath(new URL('../ts-loader.mjs', import.meta.url));
  const r = await run(process.execPath, ['--import', loader, script, url, String(secs * 1000), String(CONNECTIONS)], undefined, (secs + 30) * 1000);
  if (r.code !== 0) throw new Error(`loadgen failed: ${r.err.slice(0, 300)}`);
  const j = JSON.parse(r.out) as Omit<HotPathResult, 'tool' | 'url' | 'connections' | 'durationSec' | 'sample'>;
  return { tool: 'node loadgen (undici; wrk not installed)', url, connections: CONNECTIONS, durationSec: secs, sample, ...j };
}
