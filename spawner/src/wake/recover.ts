/**
 * Recovery of requests that raced an app going away.
 *
 * Each instance router carries an errors middleware (traefik/labels.ts): when Traefik itself
 * answers 502 (the app refused or reset the connection) or 504 (its address stopped answering),
 * it asks `GET /.spawner/recover?url=<the URL>&status=<502|504>` here, with the client's own
 * headers (Host, Cookie), and forces the answer's status to 307. That is the window between an
 * app exiting (idle stop, crash, an outside `docker stop`) and Traefik dropping its route.
 *
 * - The instance is being stopped or woken by us, is not running, or started moments ago: the
 *   error is that race. Wake it (a wake waits for a stop in progress, then starts it again) and
 *   send the client back to the URL it asked for; a 307 repeats its own method and body.
 * - It has been running steadily: the 502/504 came from the app itself. Send the client to
 *   /.spawner/app-error, which answers with that status: no wake, no redirect loop.
 *
 * Reachable by anyone on the public port, so nothing here trusts the query: the URL must be on
 * this request's Host, the client is identified exactly as for a request to that URL, and every
 * Location is a same-origin path built by safeTarget().
 */
import { INSTANCE_NAME_RE, RECOVER_STATUSES, SPAWNER_PATH_PREFIX } from '../traefik/labels.js';
import { instancePath } from '../traefik/rules.js';

/** An app that started this recently may be the one a stop race just replaced: retry, not error. */
export const FRESH_START_MS = 15_000;
export const APP_ERROR_PATH = `${SPAWNER_PATH_PREFIX}app-error`;

export type RecoveryStatus = (typeof RECOVER_STATUSES)[number];

export interface RecoveryFacts {
  /** A stop, start, deploy or wake of ours holds the instance (or a wake is in flight). */
  busy: boolean;
  /** Docker's view now; null when the container is gone. */
  running: boolean | null;
  startedAt?: string;
  now: number;
}

/** `wake`: the error raced a stop or start; `app-error`: the app itself answered it. */
export function planRecovery(f: RecoveryFacts): 'wake' | 'app-error' {
  if (f.busy || f.running !== true) return 'wake';
  const started = f.startedAt ? Date.parse(f.startedAt) : Number.NaN;
  if (!Number.isFinite(started) || f.now - started < FRESH_START_MS) return 'wake';
  return 'app-error';
}

/**
 * The original request, from the middleware's `url` (absolute: Traefik writes scheme and host).
 * Null unless it is http(s) on exactly the Host this request carries.
 */
export function originalRequest(raw: unknown, host: string | undefined): { path: string; target: string } | null {
  if (typeof raw !== 'string' || raw.length > 8192 || !host) return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.username || u.password || u.host !== normalHost(host)) return null;
  return { path: u.pathname, target: `${u.pathname}${u.search}` };
}

/** Host header as URL parsing normalises it (lowercase, default port dropped); null if invalid. */
function normalHost(host: string): string | null {
  try {
    const h = new URL(`http://${host}`);
    return h.pathname === '/' && !h.username && !h.password ? h.host : null;
  } catch {
    return null;
  }
}

/**
 * Path mode: Traefik's stripprefix rewrites the request in place before the errors middleware
 * reads its URL, so `url` arrives without `/<prefix>/<name>`; stripprefix put that in
 * X-Forwarded-Prefix. Put it back, but only an exact instance prefix (the header is client-settable
 * elsewhere, and then only changes where this client's own redirect points, on this host).
 */
export function unstrip(orig: { path: string; target: string }, forwardedPrefix: unknown, pathPrefix: string): { path: string; target: string } {
  if (typeof forwardedPrefix !== 'string') return orig;
  const name = forwardedPrefix.split('/').at(-1) ?? '';
  if (!INSTANCE_NAME_RE.test(name) || forwardedPrefix !== instancePath(name, pathPrefix)) return orig;
  if (orig.path === forwardedPrefix || orig.path.startsWith(`${forwardedPrefix}/`)) return orig; // not stripped
  const rest = orig.path === '/' ? '/' : orig.path;
  return { path: `${forwardedPrefix}${rest}`, target: `${forwardedPrefix}${rest}${orig.target.slice(orig.path.length)}` };
}

export function recoveryStatus(raw: unknown): RecoveryStatus {
  const n = Number(raw);
  return (RECOVER_STATUSES as readonly number[]).includes(n) ? (n as RecoveryStatus) : 502;
}
