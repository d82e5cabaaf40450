/**
 * Sections 4 and 5. Storm: many concurrent API clients for ONE stopped instance (single-flight:
 * exactly one container start is expected). Fan-out: many stopped instances woken at once; the
 * spawner admits maxConcurrentStarts and answers the rest 503 + Retry-After, which the client
 * honours. Starts are counted from Docker's own `start` events.
 */
import { performance } from 'node:perf_hooks';
import { Agent } from 'undici';
import { wakeClient, type WakeResult } from './client.js';
import { appUp, deploy, pad, pool, stop, type Ctx, type Inst } from './common.js';
import { dist, type Dist } from './stats.js';

function firstStatuses(rs: WakeResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) out[String(r.firstStatus)] = (out[String(r.firstStatus)] ?? 0) + 1;
  return out;
}

export interface StormResult {
  clients: number;
  starts: number;
  toApp200: Dist;
  ok: number;
  errors: number;
  errorSamples: string[];
  firstStatus: Record<string, number>;
  wallMs: number;
}

export async function storm(ctx: Ctx, inst: Inst): Promise<StormResult> {
  await appUp(ctx, inst);
  await stop(ctx, inst.name);
  const agent = new Agent({ connections: null, headersTimeout: 90_000, bodyTimeout: 90_000 });
  try {
    const url = `${ctx.stack.web}/bench/storm`;
    const from = performance.now();
    const rs = await Promise.all(
      Array.from({ length: ctx.sizes.stormClients }, () => wakeClient(url, `instance=${inst.cookie}`, { dispatcher: agent })),
    );
    const wallMs = performance.now() - from;
    const ok = rs.filter((r) => r.ok);
    return {
      clients: rs.length,
      starts: ctx.events.count(inst.id, 'start', from),
      toApp200: dist(ok.map((r) => r.ms)),
      ok: ok.length,
      errors: rs.length - ok.length,
      errorSamples: [...new Set(rs.filter((r) => !r.ok).map((r) => r.error ?? '?'))].slice(0, 5),
      firstStatus: firstStatuses(rs),
      wallMs: Math.round(wallMs),
    };
  } finally {
    await agent.close();
  }
}

export interface FanoutResult {
  instances: number;
  toApp200: Dist;
  finalSuccess: number;
  errors: number;
  errorSamples: string[];
  firstTry503: number;
  retries503Total: number;
  firstStatus: Record<string, number>;
  starts: number;
  instancesWithOneStart: number;
  wallMs: number;
}

export async function fanout(ctx: Ctx, prefix = 'f'): Promise<FanoutResult> {
  const names = Array.from({ length: ctx.sizes.fanout }, (_, i) => `${prefix}-${pad(i + 1)}`);
  const insts = await pool(names, 5, (n) => deploy(ctx, n, ctx.images.nohc));
  await pool(insts, 5, async (i) => { await appUp(ctx, i); await stop(ctx, i.name); });
  const agent = new Agent({ connections: null, headersTimeout: 90_000, bodyTimeout: 90_000 });
  try {
    const from = performance.now();
    const rs = await Promise.all(insts.map((i) => wakeClient(`${ctx.stack.web}/bench/fanout`, `instance=${i.cookie}`, { dispatcher: agent })));
    const wallMs = performance.now() - from;
    const ok = rs.filter((r, k) => r.ok && r.appHost === insts[k]?.name);
    const starts = insts.map((i) => ctx.events.count(i.id, 'start', from));
    await pool(insts, 5, (i) => stop(ctx, i.name));
    return {
      instances: insts.length,
      toApp200: dist(ok.map((r) => r.ms)),
      finalSuccess: ok.length,
      errors: rs.length - ok.length,
      errorSamples: [...new Set(rs.filter((r) => !r.ok).map((r) => r.error ?? '?'))].slice(0, 5),
      firstTry503: rs.filter((r) => r.firstStatus === 503).length,
      retries503Total: rs.reduce((s, r) => s + r.retries503, 0),
      firstStatus: firstStatuses(rs),
      starts: starts.reduce((a, b) => a + b, 0),
      instancesWithOneStart: starts.filter((s) => s === 1).length,
      wallMs: Math.round(wallMs),
    };
  } finally {
    await agent.close();
  }
}
