/**
 * The switch route of a redeploy, as a file for Traefik's file provider (the only place that
 * spells its keys). Why a file and not labels: the Docker provider routes a container without a
 * HEALTHCHECK as soon as it runs and merges two containers with the same router into one
 * load-balanced service, so labels alone cannot hold a new container back until it passed the
 * gate. A file router with the instance's own rule and a higher priority takes every request of
 * the instance to exactly the server it names, old or new, whatever the Docker provider does.
 *
 * Files are written under a temporary name without `.yml` and renamed, so Traefik (which reads
 * only .yml/.yaml/.toml) never sees half a file. JSON is YAML: no quoting rules to get wrong.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INSTANCE_NAME_RE } from './names.js';
import type { TraefikProvider } from './labels.js';

export const SWITCH_PREFIX = 'spawner-switch-';
export const SWITCH_HEADER = 'X-Spawner-Switch';
const TOKEN_RE = /^[a-f0-9]{64}$/;

export interface InstanceRouter {
  rule: string;
  entrypoints: string[];
  /** Middleware names as the instances' provider knows them (without `@docker` / `@swarm`). */
  middlewares: string[];
}

export interface SwitchRoute {
  name: string;
  router: InstanceRouter;
  /** `http://ip:port` of the container that gets every request of the instance. */
  serve: string;
  /** While gating: requests carrying the token go to this server (the new container) only. */
  probe?: { token: string; server: string };
  /** The provider whose labels define the instance's middlewares (default docker). */
  provider?: TraefikProvider;
}

export const switchRouterName = (name: string) => `${SWITCH_PREFIX}${name}`;
/** `__`: no instance name contains `_`, so no instance's switch router can take this name. */
export const probeRouterName = (name: string) => `${SWITCH_PREFIX}${name}__probe`;
const fileName = (name: string) => `${switchRouterName(name)}.yml`;
const SERVER_RE = /^http:\/\/(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\]):\d{1,5}$/;

/**
 * Priority: one above the instance's own router, whose priority is its rule's length (Traefik's
 * default; callers cannot set it): every request of the instance takes the switch route, while
 * routers that were above the instance's (home at 100000, the spawner's own paths) stay above.
 */
export function switchPriority(rule: string): number {
  return rule.length + 1;
}

export function switchConfig(s: SwitchRoute): Record<string, unknown> {
  if (!INSTANCE_NAME_RE.test(s.name)) throw new Error('unsafe instance name for a switch route');
  for (const url of [s.serve, s.probe?.server].filter((u): u is string => u !== undefined)) {
    if (!SERVER_RE.test(url)) throw new Error('unsafe server url for a switch route');
  }
  const provider = s.provider ?? 'docker';
  if (provider !== 'docker' && provider !== 'swarm') throw new Error('unknown provider for a switch route');
  const mw = s.router.middlewares.map((m) => `${m}@${provider}`);
  const base = { entryPoints: s.router.entrypoints, ...(mw.length ? { middlewares: mw } : {}) };
  const routers: Record<string, unknown> = {
    [switchRouterName(s.name)]: { ...base, rule: s.router.rule, priority: switchPriority(s.router.rule), service: switchRouterName(s.name) },
  };
  const services: Record<string, unknown> = {
    [switchRouterName(s.name)]: { loadBalancer: { servers: [{ url: s.serve }] } },
  };
  if (s.probe) {
    if (!TOKEN_RE.test(s.probe.token)) throw new Error('unsafe switch token');
    const rule = `(${s.router.rule}) && Header(\`${SWITCH_HEADER}\`, \`${s.probe.token}\`)`;
    routers[probeRouterName(s.name)] = { ...base, rule, priority: switchPriority(s.router.rule) + 1, service: probeRouterName(s.name) };
    services[probeRouterName(s.name)] = { loadBalancer: { servers: [{ url: s.probe.server }] } };
  }
  return { http: { routers, services } };
}

/** Writes (or replaces) the instance's switch file atomically. */
export async function writeSwitch(dir: string, s: SwitchRoute): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${switchRouterName(s.name)}.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(switchConfig(s), null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, join(dir, fileName(s.name)));
}

export async function removeSwitch(dir: string, name: string): Promise<void> {
  await rm(join(dir, fileName(name)), { force: true });
}

/** Instance names with a switch file left in `dir` (a crash mid-switch). */
export async function leftoverSwitches(dir: string): Promise<string[]> {
  const files = await readdir(dir).catch(() => [] as string[]);
  return files
    .filter((f) => f.startsWith(SWITCH_PREFIX) && f.endsWith('.yml'))
    .map((f) => f.slice(SWITCH_PREFIX.length, -'.yml'.length))
    .filter((n) => INSTANCE_NAME_RE.test(n));
}
