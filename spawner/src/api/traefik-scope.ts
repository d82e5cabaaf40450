/**
 * Opt-in Traefik labels (cfg.allowTraefikLabels): an allowlist, because Traefik's label surface is
 * huge and most of it reaches beyond the container (other routers, other providers' services,
 * arbitrary URLs, files on Traefik's host). Allowed, and only on the instance's own objects
 * (`spawner-i-<name>` or `spawner-i-<name>_<suffix>`, see traefik/names.ts for why `_`):
 * - its router: `middlewares` (own middlewares only) and `tls`;
 * - its service: load-balancer tuning (sticky cookie, health check, pass-host-header, flushing);
 * - its middlewares, of the self-contained types in MIDDLEWARE_TYPES.
 * Never: `rule`, `priority`, `service`, `entrypoints`, server `url`s, traefik.enable,
 * traefik.docker.*, traefik.tls.*, forwardauth/errors/chain/plugin middlewares (they reach
 * other services: forwardauth to any URL is an SSRF that echoes responses), `usersfile`, or any
 * value containing a backtick or control character.
 */
import { fail } from './fields.js';
import { isOwnScopedName, parseTraefikHttpKey, routerName } from '../traefik/labels.js';

const ROUTER_ATTRS = new Set(['middlewares', 'tls']);

const SERVICE_ATTR_RE = new RegExp('^loadbalancer\\.(passhostheader|responseforwarding\\.flushinterval'
  + '|sticky\\.cookie(\\.(name|secure|httponly|samesite|maxage|path))?'
  + '|healthcheck\\.(path|interval|timeout|scheme|mode|hostname|port|status|followredirects|method|headers\\.[a-z0-9-]+))$');

const MIDDLEWARE_TYPES = new Set([
  'addprefix', 'basicauth', 'buffering', 'compress', 'digestauth', 'headers', 'inflightreq',
  'ipallowlist', 'ratelimit', 'redirectregex', 'redirectscheme', 'replacepath', 'replacepathregex',
  'retry', 'stripprefix', 'stripprefixregex',
]);

export function checkScopedTraefikLabel(key: string, value: string, name: string): void {
  const field = `labels.${key}`;
  const no = (why: string): never => fail('label_forbidden', field, `label ${key} is not allowed: ${why}`);
  const own = routerName(name);
  const p = parseTraefikHttpKey(key);
  if (!p) {
    return no('only lowercase traefik.http.{routers,services,middlewares}.<own object>.* keys may be set; '
      + 'the spawner manages traefik.enable, traefik.docker.* and traefik.tls.*');
  }
  if (p.attr.at(-1) === 'priority') no('priority is managed by the spawner (it could shadow other routes)');
  if (p.attr.includes('rule')) no('rules are generated from `name` and `routing`');
  if (p.attr.some((a) => a === 'url' || a === 'servers' || a === 'serverstransport' || a === 'usersfile')) {
    no('it would send traffic or reads outside the instance');
  }
  if (!isOwnScopedName(name, p.object)) no(`only objects named ${own} or ${own}_<suffix> belong to this instance`);
  if (/[`\u0000-\u001f\u007f]/.test(value) || value.length > 1024) {
    no('values must be at most 1024 characters without backticks or control characters');
  }
  const attr = p.attr.join('.');
  switch (p.section) {
    case 'routers':
      if (p.object !== own || !ROUTER_ATTRS.has(attr)) no(`only ${own}'s middlewares and tls may be set`);
      if (attr === 'tls' && value !== 'true' && value !== 'false') no('tls must be true or false');
      if (attr === 'middlewares') checkMiddlewareRefs(value, name, no);
      return;
    case 'services':
      if (p.object !== own || !SERVICE_ATTR_RE.test(attr)) no(`only load-balancer tuning of service ${own} may be set`);
      return;
    case 'middlewares':
      if (!MIDDLEWARE_TYPES.has(p.attr[0] ?? '')) {
        no(`middleware type ${p.attr[0] ?? ''} is not allowed; allowed: ${[...MIDDLEWARE_TYPES].join(', ')}`);
      }
      return;
  }
}

/** A router may only use the instance's own middlewares (from this container's labels). */
function checkMiddlewareRefs(value: string, name: string, no: (why: string) => never): void {
  for (const ref of value.split(',')) {
    // `@docker` is this provider; any other `@provider` is someone else's middleware.
    if (!isOwnScopedName(name, ref.replace(/@docker$/, ''))) no(`middleware ${ref} does not belong to this instance`);
  }
}
