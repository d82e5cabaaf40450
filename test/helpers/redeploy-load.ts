/**
 * Load through Traefik during redeploys, and the app's own record of what it served: GETs and
 * POSTs with unique ids (X-Request-Id and in the body) from a few concurrent clients, and the
 * `docker logs` of every container of the instance while it lives (mock-app with LOG_REQUESTS=1
 * logs each request it answers). A POST the app logged twice was replayed; one the client got no
 * 200 for, or the app never logged, was lost.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { docker } from './stack.js';
import { send, type Instance } from './lifecycle.js';

export interface Served { id: string; method: string; at: number; ips: string[]; ok: boolean; status: number; error?: string }

export interface Load {
  served: Served[];
  stop(): Promise<void>;
}

/** `route`: where the instance answers (path mode: prefix `/app/<name>/`; host mode: its Host). */
export function startLoad(web: string, inst: Instance, clients = 4, route: { prefix?: string; host?: string } = {}): Load {
  const served: Served[] = [];
  let running = true;
  const worker = async (w: number) => {
    for (let i = 0; running; i++) {
      const id = `${w}-${i}-${randomUUID()}`;
      const method = i % 2 === 0 ? 'POST' : 'GET';
      const headers = { cookie: inst.cookie, 'x-request-id': id, 'content-type': 'application/json', ...(route.host ? { host: route.host } : {}) };
      try {
        const a = await send(`${web}${route.prefix ?? '/'}load/${id}`, headers, 30_000, method === 'POST' ? { method, body: JSON.stringify({ id, n: i }) } : {});
        const body = a.status === 200 ? (JSON.parse(a.body) as { ips?: string[]; hostname?: string; body?: string }) : {};
        const ok = a.status === 200 && a.headers['x-spawner-wake'] === undefined && body.hostname === inst.hostname
          && (method === 'GET' || (body.body ?? '').includes(id));
        served.push({ id, method, at: Date.now(), ips: body.ips ?? [], ok, status: a.status });
      } catch (err) {
        served.push({ id, method, at: Date.now(), ips: [], ok: false, status: 0, error: String(err) });
      }
    }
  };
  const done = Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  return { served, stop: async () => { running = false; await done; } };
}

/** Follows the logs of every container `running()` lists (an instance's, from their start on). */
export function followInstanceLogs(listRunning: () => Promise<string[]>) {
  const lines = new Map<string, string[]>();
  const streams: Readable[] = [];
  let running = true;
  const attach = async (id: string) => {
    lines.set(id, []);
    const stream = (await docker.getContainer(id).logs({ follow: true, stdout: true, stderr: false, since: 0 })) as unknown as Readable;
    streams.push(stream);
    const out = new PassThrough();
    docker.modem.demuxStream(stream, out, new PassThrough());
    let rest = '';
    out.on('data', (d: Buffer) => {
      const parts = (rest + d.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      lines.get(id)?.push(...parts);
    });
  };
  const scan = async () => {
    while (running) {
      // Running ones only: following a container that is merely created ends at once, silently.
      const list = await listRunning().catch(() => [] as string[]);
      for (const id of list) if (!lines.has(id)) await attach(id).catch(() => lines.delete(id));
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const scanning = scan();
  return {
    containers: () => [...lines.keys()],
    /** requestId → how many times the app logged it (all containers). */
    counts(): Map<string, number> {
      const m = new Map<string, number>();
      for (const ls of lines.values()) {
        for (const l of ls) {
          if (!l.includes('"msg":"request"')) continue;
          const r = JSON.parse(l) as { requestId?: string | null; method?: string };
          if (r.requestId && r.method === 'POST') m.set(r.requestId, (m.get(r.requestId) ?? 0) + 1);
        }
      }
      return m;
    },
    async stop() {
      running = false;
      await scanning;
      for (const s of streams) s.destroy();
    },
  };
}

/** Every POST the clients sent: got its 200 from the app exactly once, and was served exactly once. */
export function postAccounting(served: Served[], counts: Map<string, number>) {
  const posts = served.filter((s) => s.method === 'POST');
  return {
    posts: posts.length,
    errors: served.filter((s) => !s.ok).map((s) => `${s.method} ${s.status} ${s.error ?? ''}`),
    lost: posts.filter((p) => (counts.get(p.id) ?? 0) === 0).length,
    replayed: posts.filter((p) => (counts.get(p.id) ?? 0) > 1).length,
  };
}

/**
 * Among answers from `from` on: the last one by the old container and the first one by another,
 * the switch time (negative: the two overlapped, old requests in flight finished after the switch).
 */
export function switchGap(served: Served[], oldIp: string, from = 0): { lastOld: number; firstNew: number; gapMs: number } | null {
  const sorted = served.slice(from).filter((s) => s.ok).sort((a, b) => a.at - b.at);
  const firstNew = sorted.find((s) => !s.ips.includes(oldIp));
  const lastOld = [...sorted].reverse().find((s) => s.ips.includes(oldIp));
  if (!firstNew || !lastOld) return null;
  return { lastOld: lastOld.at, firstNew: firstNew.at, gapMs: firstNew.at - lastOld.at };
}
