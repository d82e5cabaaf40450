/** Client commands of the CLI: talk to a running deploy API with readable output or --json. */
import type { Command } from 'commander';
import { statusText } from './cli-status.js';

export interface Common { api: string; token?: string; json?: boolean }

export async function call(o: Common, method: string, path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, o.api), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!res.ok) {
    const where = data.field ? ` (field ${String(data.field)})` : '';
    throw new Error(`${res.status} ${String(data.code ?? '')}: ${String(data.detail ?? data.message ?? 'request failed')}${where}`);
  }
  return data;
}

export const keyValues = (v: string, acc: Record<string, string>) => {
  const i = v.indexOf('=');
  if (i <= 0) throw new Error(`expected KEY=VALUE, got ${JSON.stringify(v)}`);
  return { ...acc, [v.slice(0, i)]: v.slice(i + 1) };
};

function row(i: Record<string, unknown>): string {
  return [i.name, i.status, i.image, String(i.id ?? '').slice(0, 12), i.routing].map((x) => String(x ?? '')).join('\t');
}

export function out(o: Common, data: unknown, text: () => string): void {
  process.stdout.write(o.json ? `${JSON.stringify(data, null, 2)}\n` : `${text()}\n`);
}

export function common(cmd: Command): Command {
  return cmd
    .option('--api <url>', 'deploy API base URL', process.env.SPAWNER_API_URL ?? 'http://127.0.0.1:8008')
    .option('--token <token>', 'token (login or service token)', process.env.SPAWNER_TOKEN)
    .option('--json', 'print JSON');
}

export function registerClientCommands(program: Command): void {
  common(program.command('login <username>').description('log in; reads the password from SPAWNER_PASSWORD or stdin'))
    .action(async (username: string, o: Common) => {
      const password = process.env.SPAWNER_PASSWORD ?? (await readStdinLine());
      const data = (await call(o, 'POST', '/login', { username, password })) as { token: string };
      out(o, data, () => data.token);
    });
  common(program.command('deploy <name>').description('create and start an instance'))
    .requiredOption('--image <image>', 'image (must match the allowlist)')
    .option('--network <network>', 'network')
    .option('--port <port>', 'container port', (v) => Number(v))
    .option('--routing <mode>', 'cookie | host | path')
    .option('--public', 'reachable without the routing secret')
    .option('--env <KEY=VALUE>', 'environment variable (repeatable)', keyValues, {})
    .option('--label <KEY=VALUE>', 'label (repeatable)', keyValues, {})
    .option('--volume <path>', 'managed data volume mounted at this path')
    .option('--reuse-volume', 'mount the retained volume of an earlier instance of this name')
    .action(async (name: string, o: Common & { image: string; network?: string; port?: number; routing?: string; public?: boolean; env: Record<string, string>; label: Record<string, string>; volume?: string; reuseVolume?: boolean }) => {
      const volume = o.volume || o.reuseVolume ? { path: o.volume, reuse: o.reuseVolume } : undefined;
      const body = { name, image: o.image, network: o.network, port: o.port, routing: o.routing, public: o.public, envs: o.env, labels: o.label, volume };
      const data = (await call(o, 'POST', '/deploy', body)) as Record<string, unknown> & { cookie: { name: string; value: string } };
      out(o, data, () => `${row(data)}\ncookie: ${data.cookie.name}=${data.cookie.value}`);
    });
  common(program.command('ls').description('list instances')).action(async (o: Common) => {
    const data = (await call(o, 'GET', '/deploy')) as { instances: Record<string, unknown>[] };
    out(o, data, () => ['NAME\tSTATUS\tIMAGE\tID\tROUTING', ...data.instances.map(row)].join('\n'));
  });
  common(program.command('runtimes').description('list the images you may deploy (the allowlist resolved against the engine)')).action(async (o: Common) => {
    const data = (await call(o, 'GET', '/runtimes')) as { runtimes: Record<string, unknown>[] };
    const line = (r: Record<string, unknown>) => [r.reference, r.present ? 'present' : 'pull', r.title ?? '', r.version ?? '', r.port ?? '']
      .map((x) => String(x)).join('\t');
    out(o, data, () => ['REFERENCE\tSOURCE\tTITLE\tVERSION\tPORT', ...data.runtimes.map(line)].join('\n'));
  });
  common(program.command('status <nameOrId>').description('an instance\'s status: uptime, requests by status class, last request, wakes and their durations'))
    .action(async (id: string, o: Common) => {
      const data = (await call(o, 'GET', `/deploy/${encodeURIComponent(id)}`)) as Record<string, unknown>;
      out(o, data, () => statusText(data));
    });
  for (const [cmd, method, suffix, desc] of [
    ['start', 'POST', '/start', 'start an instance'],
    ['stop', 'POST', '/stop', 'stop an instance (keeps it)'],
  ] as const) {
    common(program.command(`${cmd} <nameOrId>`).description(desc)).action(async (id: string, o: Common) => {
      const data = (await call(o, method, `/deploy/${encodeURIComponent(id)}${suffix}`)) as Record<string, unknown>;
      out(o, data, () => row(data));
    });
  }
  common(program.command('rm <nameOrId>').description('stop and remove an instance (its data volume is kept unless --purge)'))
    .option('--purge', 'also remove the instance\'s data volume')
    .action(async (id: string, o: Common & { purge?: boolean }) => {
      const data = (await call(o, 'DELETE', `/deploy/${encodeURIComponent(id)}${o.purge ? '?purge=true' : ''}`)) as Record<string, unknown> & { volume?: { name: string; status: string } };
      out(o, data, () => `${row(data)}${data.volume ? `\nvolume ${data.volume.name}: ${data.volume.status}` : ''}`);
    });
  registerVolumeCommands(program);
}

/** `volumes` (list) and `volume-rm <instance>` (remove a retained volume). */
function registerVolumeCommands(program: Command): void {
  common(program.command('volumes').description('list data volumes: attached, retained (no instance) or missing')).action(async (o: Common) => {
    const data = (await call(o, 'GET', '/volumes')) as { volumes: Record<string, unknown>[] };
    const line = (v: Record<string, unknown>) => [v.instance, v.status, v.name, v.path ?? '', v.createdAt ?? ''].map((x) => String(x)).join('\t');
    out(o, data, () => ['INSTANCE\tSTATUS\tVOLUME\tPATH\tCREATED', ...data.volumes.map(line)].join('\n'));
  });
  common(program.command('volume-rm <instance>').description('remove the retained data volume of a deleted instance')).action(async (name: string, o: Common) => {
    const data = (await call(o, 'DELETE', `/volumes/${encodeURIComponent(name)}`)) as Record<string, unknown>;
    out(o, data, () => `${name}\tremoved`);
  });
}

async function readStdinLine(): Promise<string> {
  let buf = '';
  for await (const chunk of process.stdin) {
    buf += String(chunk);
    if (buf.includes('\n')) break;
  }
  return buf.split('\n')[0] ?? '';
}
