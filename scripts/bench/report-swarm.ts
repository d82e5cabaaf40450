/**
 * The swarm bench's report (scripts/bench-swarm.ts): its own tables, and the comparison with the
 * single-host cold wake of the same image on the same engine version when the run has both
 * (scripts/bench/engines.ts, `--engine current,swarm`): the target is ≤ 2×.
 */
import type { Machine } from './docker.js';
import type { BenchResult } from './result.js';
import type { Dist } from './stats.js';
import type { PairsResult, StormResult } from './swarm.js';
import type { LoadLevel } from './swarm-load.js';

export interface SwarmBenchResult {
  schema: 'spawner-bench-swarm/1';
  mode: 'quick' | 'full';
  startedAt: string;
  runSeconds: number;
  /** The run ids of its stacks: every name it gave starts with one. */
  runIds: string[];
  nodes: number;
  machine: Machine;
  /** refreshSeconds of the main stack (pairs, storm, load). */
  refresh: string;
  pairs?: PairsResult;
  storm?: StormResult;
  load?: LoadLevel[];
  /** Pairs on a stack of their own for each refreshSeconds (the main one's are `pairs`). */
  byRefresh: Record<string, PairsResult>;
  loadAverageDuring: { mean: number; max: number };
  errors: Record<string, string>;
}

const d = (x: Dist | undefined) => (x && Number.isFinite(x.p50) ? `${x.p50} ms (p95 ${x.p95}, n ${x.n})` : '—');
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

export function renderSwarm(r: SwarmBenchResult): string {
  const m = r.machine;
  const lines = [
    `## Swarm (${r.nodes} node${r.nodes > 1 ? 's' : ''}, Docker ${m.docker.version}, Traefik ${m.traefik.version}, refreshSeconds ${r.refresh})`,
    '',
    `Machine: ${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB, kernel ${m.kernel}; load average during the run ${r.loadAverageDuring.mean} (max ${r.loadAverageDuring.max}); ${r.mode} run, ${r.runSeconds} s.`,
    '',
    row(['measurement (median unless said)', 'value']), row(['---', '---']),
  ];
  const p = r.pairs;
  if (p) {
    lines.push(
      row(['floor: scale 0 → 1 (API) → task `running`', d(p.floor.toRunning)]),
      row(['floor: scale 0 → 1 → the app\'s first 200 on its overlay', d(p.floor.toApp200)]),
      row(['floor: scale 0 → 1 → route in Traefik\'s API', d(p.floor.toRoute)]),
      row(['route in Traefik\'s API after the task runs (Traefik\'s poll)', d(p.routeAfterRunning)]),
      row(['cold wake: first request → the app\'s 200 through Traefik', d(p.wake)]),
      row(['cold wake over the floor to the app\'s 200 (median of pairs)', `${p.overMs} ms`]),
    );
  }
  const s = r.storm;
  if (s) lines.push(row([`storm: ${s.clients} concurrent first requests for a stopped instance`, `${s.wakeEvents} wake, ${s.tasks} task, ${s.atApp}/${s.clients} at the app (${s.viaListener} via the listener) after ${s.allDoneMs} ms`]));
  if (p && r.nodes > 1) {
    lines.push('', row(['node', 'cold wake', 'floor to the app\'s 200']), row(['---', '---', '---']));
    for (const [node, v] of Object.entries(p.byNode)) lines.push(row([node, d(v.wake), d(v.floorToApp200)]));
  }
  if (Object.keys(r.byRefresh).length) {
    lines.push('', row(['Traefik refreshSeconds', 'route after the task runs', 'cold wake', 'floor to the app\'s 200']), row(['---', '---', '---', '---']));
    for (const [k, v] of Object.entries(r.byRefresh)) lines.push(row([k, d(v.routeAfterRunning), d(v.wake), d(v.floor.toApp200)]));
  }
  if (r.load?.length) {
    lines.push('', row(['services (0 replicas, Traefik labels)', 'dockerd CPU', 'Traefik CPU', 'service listing', 'time to add them']), row(['---', '---', '---', '---', '---']));
    for (const l of r.load) lines.push(row([l.services, `${l.cpuPercent.dockerd} %`, `${l.cpuPercent.traefik} %`, d(l.serviceList), `${l.createMs} ms`]));
    lines.push('', 'CPU: percent of one CPU over the window, from /proc (utime + stime) of the manager\'s dockerd and of Traefik.');
  }
  for (const [k, v] of Object.entries(r.errors)) lines.push('', `**${k} failed**: ${v}`);
  return lines.join('\n');
}

/** The target: swarm cold wake ≤ 2 × the single-host cold wake, same image (HEALTHCHECK), same engine version. */
export function swarmTarget(swarm: SwarmBenchResult, single: BenchResult): string {
  const one = single.sections.coldWake?.hc?.wake.total.p50;
  const sw = swarm.pairs?.wake.p50;
  if (!one || !sw) return '- swarm cold wake ≤ 2 × single host: not measured (both runs needed)';
  const ratio = Math.round((sw / one) * 100) / 100;
  return `- ${ratio <= 2 ? '✅' : '❌'} swarm cold wake (${swarm.nodes} node${swarm.nodes > 1 ? 's' : ''}) ${sw} ms = ${ratio} × the single-host cold wake ${one} ms (Docker ${single.machine.docker.version}, HEALTHCHECK image; target ≤ 2)`;
}
