/**
 * The manager's load under Traefik's swarm poll, as the number of services grows: services with
 * 0 replicas and Traefik labels (what a fleet of stopped instances is to the poll), made straight
 * through the Docker API with the run label only (never the spawner's ownership labels: the
 * spawner must not adopt them) and removed at the end. CPU is read from /proc (utime + stime) of
 * the manager's dockerd (its pidfile) and of Traefik's process, over a fixed window.
 */
import { readFileSync } from 'node:fs';
import { docker, RUN_LABEL, type Stack } from '../../test/helpers/stack.js';
import { pool } from '../../test/helpers/pool.js';
import { IMAGES } from '../../test/helpers/docker-env.js';
import { TRAEFIK_ENABLE, traefikKey } from '../../spawner/src/traefik/labels.js';
import { dist, round, type Dist } from './stats.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number {
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

async function cpuShare(pids: Record<string, number>, windowMs: number): Promise<Record<string, number>> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuTicks(p)]));
  await new Promise((r) => setTimeout(r, windowMs));
  return Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, round((100 * (cpuTicks(p) - (before[k] ?? 0))) / TICKS_PER_SECOND / (windowMs / 1000))]));
}

export interface LoadLevel { services: number; cpuPercent: Record<string, number>; serviceList: Dist; createMs: number }

/**
 * For each level (ascending): services up to that count, then `windowMs` of CPU measurement and
 * the latency of a service listing (what Traefik asks for on every poll).
 */
export async function managerLoad(stack: Stack, opts: { pidfile: string; levels: number[]; windowMs: number; log: (m: string) => void }): Promise<LoadLevel[]> {
  const pids = {
    dockerd: Number(readFileSync(opts.pidfile, 'utf8').trim()),
    traefik: Number((await stack.traefik.inspect()).State.Pid),
  };
  const made: string[] = [];
  const out: LoadLevel[] = [];
  try {
    for (const level of [...opts.levels].sort((a, b) => a - b)) {
      const t0 = Date.now();
      const todo = Array.from({ length: Math.max(0, level - made.length) }, (_, i) => `${stack.runId}-load-${made.length + i}`);
      await pool(todo, 8, async (name) => {
        const s = await docker.createService({
          Name: name,
          Labels: {
            [RUN_LABEL]: stack.runId, [TRAEFIK_ENABLE]: 'true',
            [traefikKey('routers', name, 'rule')]: `Host(\`${name}.load.invalid\`)`,
            [traefikKey('services', name, 'loadbalancer.server.port')]: '9000',
          },
          TaskTemplate: { ContainerSpec: { Image: IMAGES.mockApp }, RestartPolicy: { Condition: 'none' } },
          Mode: { Replicated: { Replicas: 0 } },
          EndpointSpec: { Mode: 'dnsrr' },
        });
        made.push(String((s as { id?: string }).id ?? name));
      });
      const createMs = Date.now() - t0;
      const cpuPercent = await cpuShare(pids, opts.windowMs);
      const lists: number[] = [];
      for (let i = 0; i < 5; i++) {
        const s = performance.now();
        await docker.listServices();
        lists.push(performance.now() - s);
      }
      out.push({ services: level, cpuPercent, serviceList: dist(lists), createMs });
      opts.log(`swarm load: ${level} services: dockerd ${cpuPercent.dockerd} %, traefik ${cpuPercent.traefik} % of a CPU; listing ${round(lists.sort((a, b) => a - b)[2] ?? NaN)} ms`);
    }
  } finally {
    await pool(made, 8, (id) => docker.getService(id).remove().catch(() => undefined));
  }
  return out;
}
