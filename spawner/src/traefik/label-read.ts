/**
 * Reading an instance container's own Traefik labels back: a redeploy gives the new container the
 * exact route of the old one (same rule, hence the same routing value and cookie) and copies that
 * route into its switch file. The routing secret is stored only hashed, so the old container's
 * rule is where its value lives.
 */
import { routerName, traefikKey } from './labels.js';
import { SAFE } from './rules.js';
import type { InstanceRouter } from './switch-file.js';

/** The instance router as the Docker provider reads it from these labels; null if incomplete. */
export function instanceRouterOf(labels: Record<string, string>, name: string): InstanceRouter | null {
  const r = routerName(name);
  const rule = labels[traefikKey('routers', r, 'rule')];
  const eps = labels[traefikKey('routers', r, 'entrypoints')];
  if (!rule || !eps) return null;
  const mws = labels[traefikKey('routers', r, 'middlewares')];
  const split = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
  return { rule, entrypoints: split(eps), middlewares: mws ? split(mws) : [] };
}

/**
 * The routing value inside a cookie rule (cookieRuleRegex's escaped `<name>.<secret>`), or the
 * bare name for rules without a cookie (public host/path instances). Checked like a new value.
 */
export function routeValueOf(rule: string, name: string, cookieName: string): string | null {
  const at = rule.indexOf(`${cookieName}=`);
  if (at < 0) return name;
  const rest = rule.slice(at + cookieName.length + 1);
  const end = rest.indexOf('[ \\t]*(;|$)');
  if (end < 0) return null;
  const value = rest.slice(0, end).replace(/\\(.)/g, '$1');
  if (!SAFE.routeValue.test(value) || (value !== name && !value.startsWith(`${name}.`))) return null;
  return value;
}
