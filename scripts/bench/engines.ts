/**
 * `--engine default|current|swarm|cluster|both|all`: the bench once per Docker engine, each in a
 * child process (the stack helpers bind to DOCKER_HOST when imported), and one report with the
 * engines side by side. The current engine (scripts/ensure-current-engine.sh) lives in its own
 * network namespace: its child runs inside it (scripts/_common.sh in_current_engine), where
 * 127.0.0.1 is the loopback its containers publish on. The swarms run scripts/bench-swarm.ts
 * inside their manager's namespace. Each child writes <out>/<engine>/latest.{json,md}.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './result.js';
import { renderSwarm, swarmTarget, type SwarmBenchResult } from './report-swarm.js';
import type { Dist } from './stats.js';

export type Engine = 'default' | 'current' | 'swarm' | 'cluster';
export const ENGINES: readonly Engine[] = ['default', 'current', 'swarm', 'cluster'];
/** `--engine` values: one engine, a comma-separated list, `both` (the two plain engines) or `all`. */
export function parseEngines(v: string): Engine[] {
  if (v === 'both') return ['default', 'current'];
  if (v === 'all') return [...ENGINES];
  const list = v.split(',').filter(Boolean);
  const bad = list.filter((e) => !(ENGINES as readonly string[]).includes(e));
  if (!list.length || bad.length) throw new Error(`--engine ${v}; allowed: ${ENGINES.join(', ')}, a comma-separated list of them, both or all`);
  return list as Engine[];
}

/**
 * The swarm engines: set up by their script, the bench inside the manager's namespace, and only
 * the swarm bench there (scripts/bench-swarm.ts): the plain sections need plain containers.
 */
const SWARMS: Partial<Record<Engine, { setup: string; netns: string; run: string }>> = {
  swarm: { setup: 'scripts/ensure-swarm-engine.sh', netns: 'spawner-swarm', run: '/run/spawner-swarm' },
  cluster: { setup: 'scripts/ensure-swarm-cluster.sh', netns: 'spawner-mn1', run: '/run/spawner-mn1' },
};
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sh(script: string, args: string[], log: (m: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    // The namespace and socket are spelled once, in scripts/_common.sh.
    const child = spawn('bash', ['-c', `set -euo pipefail; LOG_TAG=bench; . scripts/_common.sh; ${script}`, 'bench', ...args], {
      cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) log(`${script.split(' ')[0]} exited ${code}`);
      resolve(code ?? 1);
    });
  });
}

/** Runs the bench on each engine, one after the other (never two at once on 2 CPUs). */
export async function runOnEngines(engines: Engine[], childArgs: string[], outDir: string, log: (m: string) => void): Promise<EngineResults> {
  const plain: EngineResults['plain'] = {};
  const swarms: EngineResults['swarm'] = {};
  for (const engine of engines) {
    const out = join(outDir, engine);
    const node = ['node', '--import', './scripts/ts-loader.mjs'];
    const bench = [...node, 'scripts/bench.ts', ...childArgs, '--out', out];
    log(`engine ${engine}: bench ${childArgs.join(' ')}`);
    let code: number;
    const sw = SWARMS[engine];
    if (sw) {
      const args = [...node, 'scripts/bench-swarm.ts', ...(childArgs.includes('--quick') ? ['--quick'] : []), '--out', out, '--pidfile', `${sw.run}/dockerd.pid`];
      code = await sh(`${sw.setup} && nsenter --net=/run/netns/${sw.netns} env DOCKER_HOST=unix://${sw.run}/docker.sock "$@"`, args, log);
    } else if (engine === 'current') {
      // The engine and its images (built there; quick when up to date), then the bench inside.
      code = await sh('scripts/ensure-current-engine.sh && in_current_engine env NO_PULL=1 scripts/images.sh && in_current_engine "$@"', bench, log);
    } else {
      code = await sh('"$@"', bench, log);
    }
    try {
      const r = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchResult | SwarmBenchResult;
      if (r.schema === 'spawner-bench-swarm/1') swarms[engine] = r;
      else plain[engine] = r;
    } catch {
      log(`engine ${engine}: no result (exit ${code})`);
    }
  }
  return { plain, swarm: swarms };
}

export interface EngineResults {
  plain: Partial<Record<Engine, BenchResult>>;
  swarm: Partial<Record<Engine, SwarmBenchResult>>;
}

/** Whether an engine's run failed: no result, or a section with an error. */
export function failedEngines(engines: Engine[], r: EngineResults): Engine[] {
  return engines.filter((e) => {
    const got = r.plain[e] ?? r.swarm[e];
    return !got || Object.keys(got.errors ?? {}).length > 0;
  });
}

/** Each swarm run's report, then the target against the single-host run on the same engine version (the current engine). */
export function renderSwarms(r: EngineResults): string {
  const parts: string[] = [];
  for (const sw of Object.values(r.swarm)) {
    if (!sw) continue;
    const single = Object.values(r.plain).find((p) => p?.machine.docker.version === sw.machine.docker.version);
    parts.push(...(parts.length ? [''] : []), renderSwarm(sw), '', single ? swarmTarget(sw, single) : `- swarm cold wake ≤ 2 × single host: no single-host run on Docker ${sw.machine.docker.version} in this report (add --engine current)`);
  }
  return parts.join('\n');
}

const p50 = (d: Dist | undefined) => (d && Number.isFinite(d.p50) ? `${d.p50} ms` : '—');
const withP95 = (d: Dist | undefined) => (d && Number.isFinite(d.p50) ? `${d.p50} ms (p95 ${d.p95})` : '—');
const ms = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) ? `${v} ms` : '—');

/** The wake sections of each engine's run, one column per engine. */
export function renderSideBySide(results: Partial<Record<Engine, BenchResult>>): string {
  const engines = (Object.keys(results) as Engine[]).filter((e) => results[e]);
  const col = (f: (r: BenchResult) => string) => engines.map((e) => f(results[e] as BenchResult));
  const w = (r: BenchResult, v: 'hc' | 'nohc' | 'nohcCpus2') => r.sections.coldWake?.[v];
  const rows: Array<[string, string[]]> = [
    ['engine', col((r) => `Docker ${r.machine.docker.version}, API ${r.machine.docker.apiVersion}`)],
    ['load average during the run (mean / max)', col((r) => `${r.loadAverageDuring.mean} / ${r.loadAverageDuring.max}`)],
    ['N wakes per variant', col((r) => String(w(r, 'nohc')?.wake.total.n ?? '—'))],
    ['floor, no HEALTHCHECK: docker start → app\'s first 200', col((r) => p50(w(r, 'nohc')?.floor.toApp200))],
    ['floor, HEALTHCHECK: docker start → app\'s first 200', col((r) => p50(w(r, 'hc')?.floor.toApp200))],
    ['floor, HEALTHCHECK: docker start → Docker `healthy`', col((r) => p50(w(r, 'hc')?.floor.toHealthy))],
    ['floor, HEALTHCHECK: docker start → route in Traefik\'s API', col((r) => p50(w(r, 'hc')?.floor.toRoute))],
    ['cold wake, no HEALTHCHECK (first request → app\'s 200 through Traefik)', col((r) => withP95(w(r, 'nohc')?.wake.total))],
    ['wake overhead over the floor, no HEALTHCHECK (median of pairs)', col((r) => ms(w(r, 'nohc')?.overhead.vsApp200.p50))],
    ['cold wake, HEALTHCHECK', col((r) => withP95(w(r, 'hc')?.wake.total))],
    ['HEALTHCHECK wake over the app\'s first 200 (median of pairs)', col((r) => ms(w(r, 'hc')?.overhead.vsApp200.p50))],
    ['HEALTHCHECK wake over Docker `healthy` / over reachable through Traefik', col((r) => `${ms(w(r, 'hc')?.overhead.vsHealthy?.p50)} / ${ms(w(r, 'hc')?.overhead.vsReachable.p50)}`)],
    ['CPU limit of the instances (default) / of the 2-CPU variant', col((r) => `${w(r, 'nohc')?.cpus ?? '—'} / ${w(r, 'nohcCpus2')?.cpus ?? '—'}`)],
    ['no HEALTHCHECK, 2 CPUs instead of the default: floor / cold wake / overhead', col((r) => `${p50(w(r, 'nohcCpus2')?.floor.toApp200)} / ${p50(w(r, 'nohcCpus2')?.wake.total)} / ${ms(w(r, 'nohcCpus2')?.overhead.vsApp200.p50)}`)],
  ];
  const header = ['measurement (p50 unless said)', ...engines];
  const lines = [header, header.map(() => '---'), ...rows.map(([k, v]) => [k, ...v])].map((c) => `| ${c.join(' | ')} |`);
  const targets = engines.flatMap((e) => (results[e] as BenchResult).targets.map((t) => `- ${e}: ${t.pass ? '✅' : '❌'} ${t.description}: ${t.value} ${t.unit} (target ${t.target})`));
  return ['## Wake on each engine', '', ...lines, '', '### Targets', '', ...targets].join('\n');
}
