/**
 * Docker-side helpers of the bench: one event subscription (start / health / die, with receive
 * times), the HEALTHCHECK-less mock-app image, memory readings of a container, machine facts.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type Docker from 'dockerode';

export interface SeenEvent {
  id: string;
  action: string;
  /** performance.now() when the bench received it. */
  at: number;
}

/** Records container events of the bench's containers while open. */
export class EventLog {
  readonly events: SeenEvent[] = [];
  private stream?: NodeJS.ReadableStream & { destroy?: () => void };
  private waiters = new Set<() => void>();

  static async open(docker: Docker, label: string): Promise<EventLog> {
    const log = new EventLog();
    const stream = (await docker.getEvents({
      filters: { type: ['container'], event: ['start', 'die', 'health_status'], label: [label] },
    })) as NodeJS.ReadableStream & { destroy?: () => void };
    log.stream = stream;
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      const at = performance.now();
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        try {
          // Actor.ID and Action: engines with API >= 1.52 (Docker 29) dropped `id` and `status`.
          const ev = JSON.parse(line) as { Actor?: { ID?: string }; Action?: string };
          const id = ev.Actor?.ID;
          if (id && ev.Action) log.events.push({ id, action: ev.Action, at });
        } catch { /* partial line: ignored */ }
      }
      for (const w of log.waiters) w();
    });
    stream.on('error', () => undefined);
    return log;
  }

  count(id: string, action: string, from: number, to = Infinity): number {
    return this.events.filter((e) => e.id === id && e.action === action && e.at >= from && e.at <= to).length;
  }

  /** Resolves with the receive time of the first matching event at or after `from`. */
  wait(id: string, action: string, from: number, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const e = this.events.find((x) => x.id === id && x.action === action && x.at >= from);
        if (!e) return false;
        clearTimeout(timer);
        this.waiters.delete(onData);
        resolve(e.at);
        return true;
      };
      const onData = () => { check(); };
      const timer = setTimeout(() => {
        this.waiters.delete(onData);
        reject(new Error(`no ${action} event for ${id.slice(0, 12)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(onData);
      check();
    });
  }

  close(): void {
    this.stream?.destroy?.();
  }
}

function run(cmd: string, args: string[], input?: string, timeoutMs = 120_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, out, err }); });
    if (p.stdin) {
      p.stdin.on('error', () => undefined); // a child that exits early must not crash the bench
      p.stdin.end(input);
    }
  });
}

/** `FROM <base>` + `HEALTHCHECK NONE`: same app, no Docker health (probe path of the gate). */
export async function buildNoHealthcheckImage(base: string, tag: string): Promise<void> {
  const r = await run('docker', ['build', '-q', '-t', tag, '-'], `FROM ${base}\nHEALTHCHECK NONE\n`);
  if (r.code !== 0) throw new Error(`docker build ${tag} failed: ${r.err.slice(0, 400)}`);
}

export { run };

export interface Memory {
  /** RSS of the container's processes (docker top), MiB. */
  rssMiB: number;
  /** cgroup usage minus inactive file cache (what `docker stats` shows), MiB. */
  cgroupMiB: number;
}

export async function containerMemory(c: Docker.Container): Promise<Memory> {
  const top = (await c.top({ ps_args: '-o pid,rss,comm' })) as { Titles: string[]; Processes: string[][] };
  const col = top.Titles.findIndex((t) => t.toUpperCase() === 'RSS');
  const rssKiB = top.Processes.reduce((s, p) => s + Number(p[col] ?? 0), 0);
  const st = (await c.stats({ stream: false })) as unknown as {
    memory_stats: { usage?: number; stats?: Record<string, number> };
  };
  const m = st.memory_stats;
  const inactive = m.stats?.inactive_file ?? m.stats?.total_inactive_file ?? 0;
  const MiB = 1024 * 1024;
  return { rssMiB: Math.round((rssKiB / 1024) * 10) / 10, cgroupMiB: Math.round((((m.usage ?? 0) - inactive) / MiB) * 10) / 10 };
}

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  os: string;
  node: string;
  docker: { version: string; apiVersion: string; cgroup: string; storageDriver: string; containersOnHost: number };
  traefik: { version: string; providersThrottleDuration: string };
  loadAverage1m: number;
  /** The spawner's environment in this run (scripts/bench.ts SPAWNER_ENV). */
  spawnerEnv?: Record<string, string>;
}

export async function machine(docker: Docker, traefikApi: string, traefikArgs: string[]): Promise<Machine> {
  const v = await docker.version();
  const info = (await docker.info()) as { CgroupVersion?: string; Driver?: string; Containers?: number };
  let traefikVersion = 'unknown';
  try {
    const r = await fetch(`${traefikApi}/api/version`, { signal: AbortSignal.timeout(5_000) });
    traefikVersion = String(((await r.json()) as { Version?: string }).Version ?? 'unknown');
  } catch { /* keep unknown */ }
  const throttle = traefikArgs.find((a) => a.startsWith('--providers.providersThrottleDuration='))?.split('=')[1] ?? 'default (2s)';
  return {
    nproc: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: os.release(),
    os: `${os.type()} ${os.arch()}`,
    node: process.version,
    docker: {
      version: v.Version,
      apiVersion: v.ApiVersion,
      cgroup: `v${info.CgroupVersion ?? '?'}`,
      storageDriver: info.Driver ?? '?',
      containersOnHost: info.Containers ?? 0,
    },
    traefik: { version: traefikVersion, providersThrottleDuration: throttle },
    loadAverage1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
  };
}
