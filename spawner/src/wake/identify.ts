/**
 * Who is this request for? Uses only the store (no Docker call), and every failure (no cookie,
 * malformed, unknown name, wrong secret, other instance) collapses to the same `null`, so the
 * answer is no oracle for which instances exist.
 */
import type { Config } from '../config.js';
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
  const name = nameFromRequest(cfg, req, parsed);
  if (!name) return null;
  const rec = store.get(name);
  if (!rec || rec.routing !== modeOf(cfg, req, parsed)) return null;
  if (!valueOpens(rec, parsed)) return null;
  return { rec, value: parsed ? value : undefined };
}

function hostName(cfg: Config, host: string | undefined): string | undefined {
  if (!host) return undefined;
  const bare = host.toLowerCase().replace(/:\d+$/, '');
  const suffix = `.${cfg.appsDomain.toLowerCase()}`;
  if (!bare.endsWith(suffix)) return undefined;
  const label = bare.slice(0, -suffix.length);
  return new RegExp(`^${NAME}$`).test(label) ? label : undefined;
}

function pathName(cfg: Config, path: string): string | undefined {
  const m = new RegExp(`^/${escapeRe(cfg.pathPrefix)}/(${NAME})(?:[/?#]|$)`).exec(path);
  return m?.[1];
}

/** Host and path addressing win over the cookie: the cookie then only has to carry the secret. */
function nameFromRequest(cfg: Config, req: WakeRequestInfo, parsed: ParsedValue | null): string | undefined {
  return hostName(cfg, req.host) ?? pathName(cfg, req.path) ?? parsed?.name;
}

function modeOf(cfg: Config, req: WakeRequestInfo, parsed: ParsedValue | null) {
  if (hostName(cfg, req.host)) return 'host';
  if (pathName(cfg, req.path)) return 'path';
  return parsed ? 'cookie' : undefined;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
