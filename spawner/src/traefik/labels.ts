/**
 * The single source of every container label key the spawner writes or reads. Pure functions
 * only; no other module spells a `traefik.` or `spawner.` key (they import from here).
 */
import type { RoutingMode } from '../config.js';
import { INSTANCE_NAME_RE, isOwnScopedName, recoverMiddlewareName, routerName, stripMiddlewareName } from './names.js';
import {
  assertSafe, cookieRule, hostRule, instancePath, pathRule,
} from './rules.js';

export {
  INSTANCE_NAME_RE, WAKE_ROUTER, HOME_ROUTER, routerName, stripMiddlewareName, recoverMiddlewareName,
  isOwnScopedName,
} from './names.js';

/**
 * Paths under this prefix belong to the spawner on every host: the deployment routes them to the
 * wake listener above every instance router (compose: router `spawner-own`).
 */
export const SPAWNER_PATH_PREFIX = '/.spawner/';
/** Where an instance's errors middleware sends a gateway error; `{url}` is the request's URL. */
export const RECOVER_PATH = `${SPAWNER_PATH_PREFIX}recover`;
/** Gateway errors Traefik itself answers when the app is gone: 502 (refused/reset), 504 (dial timeout). */
export const RECOVER_STATUSES = [502, 504] as const;
/** A Traefik service reference: `name` or `name@provider`. */
export const SERVICE_REF_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}(@[a-z0-9-]{1,30})?$/;
export { cookieRuleRegex, cookieRule } from './rules.js';

/** Ownership marker kept from the original Go spawner. */
export const ORIGIN_LABEL = 'origin';
export const ORIGIN_VALUE = 'spawner';

/** The spawner's own namespace. Containers without our `spawner.id` are never touched. */
export const LABEL = {
  id: 'spawner.id',
  instance: 'spawner.instance',
  port: 'spawner.port',
  routing: 'spawner.routing',
  public: 'spawner.public',
  healthCheck: 'spawner.health-check',
  /** Whether the instance's own network routes out (recreating a network removed outside needs it). */
  egress: 'spawner.egress',
  /** On Traefik and the spawner: join every instance network of this installation (`true`). */
  edge: 'spawner.edge',
  /** On an edge container: the names it answers to on every instance network (e.g. `traefik`). */
  edgeAliases: 'spawner.edge.aliases',
} as const;
/** Shorthands for readers of container labels (reconcile, wake). */
export const INSTANCE_LABEL = LABEL.instance;
export const SPAWNER_ID_LABEL = LABEL.id;

const TRAEFIK = 'traefik';
/** Traefik's opt-in key (providers.docker.exposedByDefault=false) and its network choice. */
export const TRAEFIK_ENABLE = `${TRAEFIK}.enable`;
export const TRAEFIK_DOCKER_NETWORK = `${TRAEFIK}.docker.network`;
export type TraefikSection = 'routers' | 'services' | 'middlewares';
const SECTIONS: readonly string[] = ['routers', 'services', 'middlewares'];

/** Label filter for listing our containers. */
export function ownershipLabels(spawnerId: string): Record<string, string> {
  return { [ORIGIN_LABEL]: ORIGIN_VALUE, [LABEL.id]: assertSafe('spawnerId', spawnerId) };
}

/** An instance's own network: owned like its container, named after the instance. */
export function networkLabels(spawnerId: string, instance: string): Record<string, string> {
  return { ...ownershipLabels(spawnerId), [LABEL.instance]: assertSafe('name', instance) };
}

/** An instance's data volume: owned and named after the instance, like its network. */
export function volumeLabels(spawnerId: string, instance: string): Record<string, string> {
  return networkLabels(spawnerId, instance);
}

/**
 * The DNS names an edge container takes on instance networks, from its `spawner.edge.aliases`
 * label (comma-separated): so code inside an instance reaches Traefik's public entrypoint by the
 * name the spawner tells it (SPAWNER_SELF_URL). Names that are not DNS labels are dropped.
 */
export function edgeAliases(labels: Record<string, string>): string[] {
  return (labels[LABEL.edgeAliases] ?? '').split(',').map((a) => a.trim()).filter((a) => INSTANCE_NAME_RE.test(a)).slice(0, 8);
}

/** Label filter for the edge containers (Traefik, the spawner) of this installation. */
export function edgeLabels(spawnerId: string): Record<string, string> {
  return { [LABEL.edge]: 'true', [LABEL.id]: assertSafe('spawnerId', spawnerId) };
}

/** True for any key Traefik would read, in any letter case (Traefik matches keys loosely). */
export function isTraefikKey(key: string): boolean {
  const k = key.toLowerCase();
  return k === TRAEFIK || k.startsWith(`${TRAEFIK}.`);
}

/** True for keys only the spawner may set: `origin` and `spawner.*`, in any letter case. */
export function isSpawnerKey(key: string): boolean {
  const k = key.toLowerCase();
  return k === ORIGIN_LABEL || k === 'spawner' || k.startsWith('spawner.');
}

export interface TraefikKeyParts { section: TraefikSection; object: string; attr: string[] }

/**
 * Splits `traefik.http.<section>.<object>.<attr...>`; null for anything else, including keys
 * that are not all lowercase (Traefik would read `Rule` as `rule`; exact case keeps checks exact).
 */
export function parseTraefikHttpKey(key: string): TraefikKeyParts | null {
  if (key !== key.toLowerCase()) return null;
  const [root, http, section, object, ...attr] = key.split('.');
  if (root !== TRAEFIK || http !== 'http' || !section || !SECTIONS.includes(section)) return null;
  if (!object || attr.length === 0 || attr.some((s) => s === '')) return null;
  return { section: section as TraefikSection, object, attr };
}

export function traefikKey(section: TraefikSection, object: string, attr: string): string {
  return `${TRAEFIK}.http.${section}.${object}.${attr}`;
}

export interface InstanceLabelSpec {
  name: string;
  port: number;
  routing: RoutingMode;
  public: boolean;
  /** The routing cookie value: `${name}.${secret}`, or the bare name (compat / public). */
  routeValue: string;
  cookieName: string;
  appsDomain: string;
  pathPrefix: string;
  entrypoint: string;
  /** The instance's own network: the one Traefik reaches it on. */
  network: string;
  /** Whether that network routes out (kept on the container for repairs). */
  egress?: boolean;
  spawnerId: string;
  healthCheck?: string;
  /**
   * Traefik service of the wake listener (e.g. `spawner-wake@docker`): the instance router then
   * sends Traefik's own 502/504 (the app went away under a request) there as a 307 back to the
   * same URL, after the wake. Empty/undefined: no recovery middleware.
   */
  recoverService?: string;
  userLabels: Record<string, string>;
  /** Opt-in, already policy-checked by api/label-policy.ts; re-checked for scope here. */
  traefikLabels: Record<string, string>;
}

/**
 * The router rule. Public instances skip the secret: host/path modes need no cookie at all, and
 * cookie mode (which has nothing else to match on) uses the bare name as the cookie value, so
 * anyone who knows the name can reach a public instance, exactly as "public" means.
 */
function rule(s: InstanceLabelSpec): string {
  const cookie = cookieRule(s.cookieName, s.public ? s.name : s.routeValue);
  switch (s.routing) {
    case 'cookie': return cookie;
    case 'host': return s.public ? hostRule(s.name, s.appsDomain) : `${hostRule(s.name, s.appsDomain)} && ${cookie}`;
    case 'path': return s.public ? pathRule(s.name, s.pathPrefix) : `${pathRule(s.name, s.pathPrefix)} && ${cookie}`;
  }
}

/** Defence in depth for inputs that api/validate.ts already checked. */
function assertSpec(s: InstanceLabelSpec): void {
  assertSafe('name', s.name);
  for (const f of ['cookieName', 'entrypoint', 'network', 'spawnerId', 'routeValue'] as const) assertSafe(f, s[f]);
  if (s.routeValue !== s.name && !s.routeValue.startsWith(`${s.name}.`)) throw new Error('routeValue must belong to the instance');
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65_535) throw new Error('port out of range');
  if (s.healthCheck !== undefined && /[\u0000-\u0020`"'\\\u007f]/.test(s.healthCheck)) throw new Error('unsafe healthCheck');
  if (s.recoverService && !SERVICE_REF_RE.test(s.recoverService)) throw new Error('unsafe recoverService');
  for (const k of Object.keys(s.userLabels)) {
    if (isTraefikKey(k) || isSpawnerKey(k)) throw new Error(`reserved key in userLabels: ${k.slice(0, 80)}`);
  }
  for (const [k, v] of Object.entries(s.traefikLabels)) {
    const p = parseTraefikHttpKey(k);
    if (!p || !isOwnScopedName(s.name, p.object) || p.attr.includes('rule') || p.attr.includes('priority')) {
      throw new Error(`traefik label outside the instance's scope: ${k.slice(0, 80)}`);
    }
    if (/[`\u0000-\u001f\u007f]/.test(v)) throw new Error('unsafe traefik label value');
  }
}

/** The whole label map of an instance's container. */
export function instanceLabels(s: InstanceLabelSpec): Record<string, string> {
  assertSpec(s);
  const r = routerName(s.name);
  const generated: Record<string, string> = {
    [TRAEFIK_ENABLE]: 'true',
    [TRAEFIK_DOCKER_NETWORK]: s.network,
    [traefikKey('routers', r, 'rule')]: rule(s),
    [traefikKey('routers', r, 'entrypoints')]: s.entrypoint,
    [traefikKey('routers', r, 'service')]: r,
    [traefikKey('services', r, 'loadbalancer.server.port')]: String(s.port),
  };
  // Ours run first, outermost first: recover catches the gateway errors of everything after it
  // (stripprefix rewrites the URL in place, so recover finds the prefix in X-Forwarded-Prefix,
  // see wake/recover.ts); opt-in middlewares are appended, never replace them.
  const mwKey = traefikKey('routers', r, 'middlewares');
  const middlewares: string[] = [];
  if (s.recoverService) {
    const m = recoverMiddlewareName(s.name);
    middlewares.push(m);
    generated[traefikKey('middlewares', m, 'errors.status')] = RECOVER_STATUSES.join(',');
    for (const code of RECOVER_STATUSES) generated[traefikKey('middlewares', m, `errors.statusrewrites.${code}`)] = '307';
    generated[traefikKey('middlewares', m, 'errors.service')] = s.recoverService;
    generated[traefikKey('middlewares', m, 'errors.query')] = `${RECOVER_PATH}?url={url}&status={originalStatus}`;
  }
  if (s.routing === 'path') {
    middlewares.push(stripMiddlewareName(s.name));
    generated[traefikKey('middlewares', stripMiddlewareName(s.name), 'stripprefix.prefixes')] = instancePath(s.name, s.pathPrefix);
  }
  if (s.traefikLabels[mwKey]) middlewares.push(s.traefikLabels[mwKey]);
  if (middlewares.length > 0) generated[mwKey] = middlewares.join(',');
  const ours: Record<string, string> = {
    [ORIGIN_LABEL]: ORIGIN_VALUE,
    [LABEL.id]: s.spawnerId,
    [LABEL.instance]: s.name,
    [LABEL.port]: String(s.port),
    [LABEL.routing]: s.routing,
    [LABEL.public]: String(s.public),
  };
  if (s.healthCheck !== undefined) ours[LABEL.healthCheck] = s.healthCheck;
  if (s.egress !== undefined) ours[LABEL.egress] = String(s.egress);
  // Later spreads win: nothing from the caller can override what we generate.
  return { ...s.userLabels, ...s.traefikLabels, ...generated, ...ours };
}
