import { describe, expect, it } from 'vitest';
import { csrfFor, csrfValid, sameOrigin, sessionCookie, sessionFromCookie, SESSION_COOKIE } from './session.js';

const TOKEN = 'A'.repeat(43);
const OTHER = 'B'.repeat(43);

describe('console session cookie', () => {
  it('is HttpOnly, SameSite=Strict, scoped to /console, Secure only over https', () => {
    const c = sessionCookie(TOKEN, { secure: false, maxAgeSec: 3600 });
    expect(c).toBe(`${SESSION_COOKIE}=${TOKEN}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=3600`);
    expect(sessionCookie(TOKEN, { secure: true, maxAgeSec: 1 })).toMatch(/; Secure$/);
  });

  it('is read from a Cookie header among others, and malformed values are no session', () => {
    expect(sessionFromCookie(`a=1; ${SESSION_COOKIE}=${TOKEN}; b=2`)).toBe(TOKEN);
    expect(sessionFromCookie(`${SESSION_COOKIE}=../etc`)).toBeNull();
    expect(sessionFromCookie(`x${SESSION_COOKIE}=${TOKEN}`)).toBeNull();
    expect(sessionFromCookie(undefined)).toBeNull();
  });
});

describe('CSRF token', () => {
  it('is tied to the session: valid for its own session only', () => {
    const t = csrfFor(TOKEN);
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrfValid(TOKEN, t)).toBe(true);
    expect(csrfValid(OTHER, t)).toBe(false);
  });

  it.each([undefined, '', 'x', ['a'], 'y'.repeat(300)])('refuses %j', (v) => {
    expect(csrfValid(TOKEN, v)).toBe(false);
  });
});

describe('same-origin check of state-changing requests', () => {
  it('accepts our own origin, or no statement at all', () => {
    expect(sameOrigin({ origin: 'http://127.0.0.1:8008', host: '127.0.0.1:8008', secFetchSite: 'same-origin' }, 'http')).toBe(true);
    expect(sameOrigin({ host: '127.0.0.1:8008' }, 'http')).toBe(true);
  });

  it('refuses another origin, another scheme, and cross-site fetches', () => {
    expect(sameOrigin({ origin: 'http://evil.example', host: '127.0.0.1:8008' }, 'http')).toBe(false);
    expect(sameOrigin({ origin: 'https://127.0.0.1:8008', host: '127.0.0.1:8008' }, 'http')).toBe(false);
    expect(sameOrigin({ origin: 'null', host: '127.0.0.1:8008' }, 'http')).toBe(false);
    expect(sameOrigin({ secFetchSite: 'cross-site', host: 'h' }, 'http')).toBe(false);
    expect(sameOrigin({ secFetchSite: 'same-site', host: 'h' }, 'http')).toBe(false);
  });
});
