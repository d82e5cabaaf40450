/**
 * Traefik v3 rule strings and the defensive input checks they rely on. Pure.
 *
 * Every value that ends up inside a rule goes through a whitelist (assertSafe) first, so a
 * backtick, quote, space or parenthesis from input can never close a matcher and inject another
 * (`x`) || PathPrefix(`/`). Validation happens earlier too (api/validate.ts); this is the last
 * line and throws plain Errors, which surface as 500 `internal` because reaching it is a bug.
 */
import { INSTANCE_NAME_RE } from './names.js';

const DNS_LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';

export const SAFE = {
  name: INSTANCE_NAME_RE,
  /** A subset of RFC 6265 cookie-name tokens with no regex metacharacters that matter. */
  cookieName: /^[A-Za-z0-9_-]{1,64}$/,
  /** `<name>` or `<name>.<secret>`; the secret is hex or base64url. Checked against name below. */
  routeValue: /^[a-z0-9-]{1,63}(\.[A-Za-z0-9_-]{8,256})?$/,
  appsDomain: new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`),
  /** Path segments joined by `/`, no leading/trailing slash, no `.`/`..` (checked below). */
  pathPrefix: /^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/,
  entrypoint: /^[A-Za-z0-9_-]{1,64}$/,
  /** Docker's own network-name syntax. */
  network: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/,
  spawnerId: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
} as const;

export function assertSafe(field: keyof typeof SAFE, value: unknown): string {
  if (typeof value !== 'string' || !SAFE[field].test(value)) {
    throw new Error(`unsafe ${field} for Traefik labels: ${JSON.stringify(String(value)).slice(0, 80)}`);
  }
  return value;
}

/** Normalises `/app/` → `app` and rejects dot segments, which Traefik would never see. */
export function normalizePathPrefix(prefix: string): string {
  const p = assertSafe('pathPrefix', prefix.replace(/^\/+|\/+$/g, ''));
  if (p.split('/').some((s) => s === '.' || s === '..')) {
    throw new Error('unsafe pathPrefix for Traefik labels: dot segment');
  }
  return p;
}

/** Escapes regex metacharacters; the result means the same in Go RE2 and JS RegExp. */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The regex matched against the Cookie header: the cookie `<cookieName>=<value>` exactly.
 * - `(^|;[ \t]*)` before the name: start of header or a previous cookie, so `xinstance=` fails;
 * - `[ \t]*(;|$)` after the value: end of this cookie, so `minion-1` never matches `minion-10`
 *   or `minion-1x`;
 * - `[ \t]` rather than `\s`: RE2's `\s` is ASCII-only and JS's is Unicode; the explicit class
 *   is identical in both engines, and cookie OWS is only space/tab anyway;
 * - case-sensitive, as cookie names and our values are.
 * Only `(`, `|`, `^`, `$`, `[...]`, `*` and `\.`-style escapes are used: the RE2/JS common subset.
 */
export function cookieRuleRegex(cookieName: string, value: string): string {
  assertSafe('cookieName', cookieName);
  assertSafe('routeValue', value);
  return `(^|;[ \\t]*)${escapeRegex(cookieName)}=${escapeRegex(value)}[ \\t]*(;|$)`;
}

export function cookieRule(cookieName: string, value: string): string {
  return `HeaderRegexp(\`Cookie\`, \`${cookieRuleRegex(cookieName, value)}\`)`;
}

export function hostRule(name: string, appsDomain: string): string {
  const host = `${assertSafe('name', name)}.${assertSafe('appsDomain', appsDomain)}`;
  if (host.length > 253) throw new Error('unsafe host for Traefik labels: longer than 253');
  return `Host(\`${host}\`)`;
}

/** The instance's path: `/<prefix>/<name>`. */
export function instancePath(name: string, pathPrefix: string): string {
  return `/${normalizePathPrefix(pathPrefix)}/${assertSafe('name', name)}`;
}

/**
 * Exactly `/<prefix>/<name>` or anything below `/<prefix>/<name>/`. A bare
 * PathPrefix(`/app/minion-1`) would also match `/app/minion-10`, another tenant's instance.
 */
export function pathRule(name: string, pathPrefix: string): string {
  const p = instancePath(name, pathPrefix);
  return `(Path(\`${p}\`) || PathPrefix(\`${p}/\`))`;
}
