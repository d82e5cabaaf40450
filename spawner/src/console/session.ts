/**
 * Console sessions and CSRF, pure. The session cookie holds a login token (auth/service.ts keeps
 * it hashed with its expiry, so a restart logs nobody out). The CSRF token is an HMAC of that
 * session token: tied to the session, nothing more to store, unguessable without the cookie
 * (which is HttpOnly, so script on another origin never sees it), and checked on every
 * state-changing request with a constant-time compare.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'spawner_console';
export const CSRF_HEADER = 'x-csrf-token';

export function csrfFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('spawner-console-csrf-v1').digest('base64url');
}

// Digests first: timingSafeEqual needs equal lengths, and comparing digests leaks no length.
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function csrfValid(sessionToken: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length === 0 || presented.length > 256) return false;
  return timingSafeEqual(digest(csrfFor(sessionToken)), digest(presented));
}

/** Set-Cookie value: HttpOnly, SameSite=Strict, only below /console, Secure over https. */
export function sessionCookie(token: string, opts: { secure: boolean; maxAgeSec: number }): string {
  const parts = [`${SESSION_COOKIE}=${token}`, 'Path=/console', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSec))}`];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

export const clearedSessionCookie = (secure: boolean) => sessionCookie('', { secure, maxAgeSec: 0 });

/** The session token from a Cookie header (first occurrence; base64url tokens only). */
export function sessionFromCookie(header: string | undefined): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const v = part.slice(eq + 1).trim();
    return /^[A-Za-z0-9_-]{16,128}$/.test(v) ? v : null;
  }
  return null;
}

/**
 * A state-changing request must come from our own page: when the browser says where it comes
 * from (Origin, Sec-Fetch-Site), that must be this very origin. Old clients send neither; they
 * still need the CSRF token.
 */
export function sameOrigin(h: { origin?: string; host?: string; secFetchSite?: string }, protocol: string): boolean {
  if (h.secFetchSite !== undefined && h.secFetchSite !== 'same-origin' && h.secFetchSite !== 'none') return false;
  if (h.origin === undefined) return true;
  return h.host !== undefined && h.origin === `${protocol}://${h.host}`;
}
