/**
 * Fallback load generator (when `wrk` is missing), run as its own process:
 *   node --import ./scripts/ts-loader.mjs scripts/bench/loadgen.ts URL DURATION_MS CONNECTIONS [COOKIE]
 * Keeps CONNECTIONS requests in flight on keep-alive connections for DURATION_MS and prints JSON.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { percentile } from './stats.js';

const [url = '', durRaw = '2000', connRaw = '32', cookie] = process.argv.slice(2);
const duration = Math.min(Number(durRaw), 120_000);
const conns = Math.min(Number(connRaw), 512);
const u = new URL(url);
if (u.hostname !== '127.0.0.1') throw new Error('loadgen only targets 127.0.0.1');
const poolC = new Pool(u.origin, { connections: conns });
const lat: number[] = [];
let errors = 0;
const end = performance.now() + duration;
async function worker() {
  while (performance.now() < end) {
    const t = performance.now();
    try {
      const r = await poolC.request({ path: u.pathname, method: 'GET', headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });
      await r.body.dump();
      if (r.statusCode >= 400) errors++;
      lat.push(performance.now() - t);
    } catch {
      errors++;
    }
  }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: conns }, worker));
const secs = (performance.now() - t0) / 1000;
await poolC.close();
const r2 = (v: number) => Math.round(v * 1000) / 1000;
process.stdout.write(JSON.stringify({
  requests: lat.length, requestsPerSec: Math.round((lat.length / secs) * 100) / 100,
  latencyMs: { p50: r2(percentile(lat, 50)), p99: r2(percentile(lat, 99)) }, errors,
}));
