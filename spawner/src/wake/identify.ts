/**
 * Who is this request for? Uses only the store (no Docker call), and every failure (no cookie,
 * malformed, unknown name, wrong secret, other instance) collapses to the same `null`, so the
 * answer is no oracle for which instances exist.
 */
import type { Config, RoutingMode } from '../config.js';
import { escapeRegex } from '../traefik/rules.js';
import { INSTANCE_NAME_RE } from '../traefik/labels.js';
import type { InstanceStore } from '../store/instances.js';
import type { InstanceRecord } from '../instances/types.js';
import { parseRouteValue, valueOpens, type ParsedValue } from '../instances/routing.js';

export interface WakeRequestInfo {
  host?: string;
  path: string;
  cookies: Record<string, unknown>;
}

export interface Identified {
  rec: InstanceRecord;
  /** The raw routing value the client presented (used to probe through Traefik as the client). */
  value?: string;
}

const NAME = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';

export function identify(cfg: Config, store: InstanceStore, req: WakeRequestInfo): Identified | null {
  const raw = req.cookies[cfg.cookieName];
  const value = typeof raw === 'string' ? raw : undefined;
  const parsed = parseRouteValue(value);
  const addr = address(cfg, req, parsed);
  if (!addr) return null;
  const rec = store.get(addr.name);
  if (!rec || rec.routing !== addr.mode) return null;
  if (!valueOpens(rec, parsed)) return null;
  return { rec, value: parsed ? value : undefined };
}

/**
 * Which instance the request addresses, and how. Host and path addressing win over the cookie:
 * the cookie then only has to carry the secret. Computed once per request (hot path).
 */
function address(cfg: Config, req: WakeRequestInfo, parsed: ParsedValue | null): { mode: RoutingMode; name: string } | undefined {
  const host = hostName(cfg, req.host);
  if (host) return { mode: 'host', name: host };
  const path = pathRegex(cfg.pathPrefix).exec(req.path)?.[1];
  if (path) return { mode: 'path', name: path };
  return parsed ? { mode: 'cookie', name: parsed.name } : undefined;
}

function hostName(cfg: Config, host: string | undefined): string | undefined {
  if (!host) return undefined;
  const bare = host.toLowerCase().replace(/:\d+$/, '');
  const suffix = `.${cfg.appsDomain.toLowerCase()}`;
  if (!bare.endsWith(suffix)) return undefined;
  const label = bare.slice(0, -suffix.length);
  return INSTANCE_NAME_RE.test(label) ? label : undefined;
}

/** One compiled regex per path prefix (the prefix is configuration, not request input). */
const pathRegexes = new Map<string, RegExp>();
function pathRegex(prefix: string): RegExp {
  let re = pathRegexes.get(prefix);
  if (!re) {
    re = new RegExp(`^/${escapeRegex(prefix)}/(${NAME})(?:[/?#]|$)`);
    pathRegexes.set(prefix, re);
  }
  return re;
}
