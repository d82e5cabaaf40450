/**
 * Names of the Traefik objects (routers, services, middlewares) the spawner owns. Pure.
 *
 * Why these shapes cannot collide:
 * - instance names match INSTANCE_NAME_RE (lowercase, digits, inner dashes), so
 *   `spawner-i-<name>` is injective and never equals `spawner-wake` or `home`
 *   (neither starts with `spawner-i-`);
 * - our own middlewares are `spawner-i-<name>__<role>` (`__strip`, `__recover`). A user suffix
 *   (below) must start with a letter or digit, so `_<role>`-style suffixes cannot be produced by
 *   any instance, not even this one: no instance can redefine (and so break) another's
 *   middleware. (They used to be `spawner-i-<name>-strip`, which instance `<name>-strip` could
 *   claim as its own bare object name.)
 * - opt-in user objects are `spawner-i-<name>` or `spawner-i-<name>_<suffix>`. The separator is
 *   `_` and not `-` ON PURPOSE: instance names contain `-`, so a prefix rule
 *   `spawner-i-<name>-*` would let instance `a` define `spawner-i-a-b` (instance `a-b`'s service:
 *   Traefik merges same-named services' servers, i.e. `a` joins `a-b`'s load balancer) or
 *   `spawner-i-a-b-strip` (a conflicting definition makes Traefik drop `a-b`'s middleware).
 *   `_` never occurs in an instance name, so `spawner-i-<name>_` is owned by exactly one instance.
 */

/** Instance names: DNS-label-like, 1..63 chars. Also what makes router names collision-free. */
export const INSTANCE_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Prefix of every per-instance Traefik object. */
export const ROUTER_PREFIX = 'spawner-i-';
/** The catch-all router that sends requests for stopped instances to the wake listener. */
export const WAKE_ROUTER = 'spawner-wake';
/** The home app's router. */
export const HOME_ROUTER = 'home';
/** Separator between an owned object name and a user-chosen suffix (see header comment). */
export const SCOPE_SEPARATOR = '_';
/** User-chosen suffixes of opt-in objects: short, same alphabet as instance names. */
export const SCOPE_SUFFIX_RE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

/** Router (and service) name of an instance. */
export function routerName(name: string): string {
  return `${ROUTER_PREFIX}${name}`;
}

/** Separator of the spawner's own per-instance middlewares: `_` + a character no suffix starts with. */
const OWN_SEPARATOR = '__';

/** The stripprefix middleware used in path mode. */
export function stripMiddlewareName(name: string): string {
  return `${routerName(name)}${OWN_SEPARATOR}strip`;
}

/** The errors middleware that turns a gateway error (app gone mid-stop) into a wake. */
export function recoverMiddlewareName(name: string): string {
  return `${routerName(name)}${OWN_SEPARATOR}recover`;
}

/**
 * True if a Traefik object name belongs to instance `name` for opt-in user labels:
 * exactly `spawner-i-<name>` or `spawner-i-<name>_<suffix>`.
 */
export function isOwnScopedName(name: string, objectName: string): boolean {
  const own = routerName(name);
  if (objectName === own) return true;
  if (!objectName.startsWith(own + SCOPE_SEPARATOR)) return false;
  return SCOPE_SUFFIX_RE.test(objectName.slice(own.length + SCOPE_SEPARATOR.length));
}
