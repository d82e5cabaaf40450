/**
 * Authentication for the deploy API: password login → token, and request authentication by
 * login token, the static service token, or nothing at all when auth is disabled.
 * Nothing secret (password, hash, token) ever goes into an error message.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { SpawnerError } from '../errors.js';
import type { TokenStore } from '../store/tokens.js';
import type { LoginRateLimiter } from './rate-limit.js';
import { verifyLogin } from './users.js';

export interface AuthServiceOptions {
  /** null = auth disabled: every request is `anonymous`. */
  users: Map<string, string> | null;
  tokens: TokenStore;
  limiter: LoginRateLimiter;
  /** Static token for a home app; empty or undefined = none. */
  serviceToken?: string;
  tokenTtlSec: number;
  /** Milliseconds; injectable for tests. */
  now?: () => number;
}

/** Header values as Node delivers them; a repeated header (array) is never accepted. */
export interface AuthHeaders {
  token?: string | string[];
  authorization?: string | string[];
}

export interface Principal {
  subject: string;
  kind: 'user' | 'service' | 'anonymous';
}

const MAX_USERNAME = 128;
const MAX_PASSWORD = 1024;
const BEARER_RE = /^Bearer[ \t]+(\S+)[ \t]*$/i;

// Hashing both sides first gives timingSafeEqual equal lengths without leaking the length.
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class AuthService {
  private readonly serviceDigest: Buffer | null;
  private readonly now: () => number;

  constructor(private readonly opts: AuthServiceOptions) {
    this.serviceDigest = opts.serviceToken ? digest(opts.serviceToken) : null;
    this.now = opts.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.opts.users !== null;
  }

  /** Returns a login token, or throws login_invalid / rate_limited. */
  async login(username: string, password: string, clientIp: string): Promise<string> {
    const invalid = () => new SpawnerError('login_invalid', 'login invalid');
    if (typeof username !== 'string' || typeof password !== 'string') throw invalid();
    if (!username || username.length > MAX_USERNAME || password.length > MAX_PASSWORD) {
      throw invalid();
    }
    const { users, tokens, limiter, tokenTtlSec } = this.opts;
    // Auth disabled: still hand out a token so clients written for the original keep working.
    if (users === null) return tokens.issue(username, tokenTtlSec, this.now());

    limiter.begin(username, clientIp);
    if (!(await verifyLogin(users, username, password))) throw invalid();
    limiter.succeed(username, clientIp);
    return tokens.issue(username, tokenTtlSec, this.now());
  }

  /** Ends a login token's life (console logout). */
  logout(token: string): void {
    this.opts.tokens.revoke(token);
  }

  /**
   * The owner of a login token, for the console's session cookie: login tokens only (never the
   * service token, which is for machines), and also when auth is disabled (the console still wants
   * to know who clicked).
   */
  session(token: unknown): Principal | null {
    if (typeof token !== 'string') return null;
    const owner = this.opts.tokens.verify(token, this.now());
    if (!owner) return null;
    if (this.opts.users === null) return { subject: owner.username, kind: 'anonymous' };
    return this.opts.users.has(owner.username) ? { subject: owner.username, kind: 'user' } : null;
  }

  /** Accepts the original `token:` header or `Authorization: Bearer <token>`. */
  authenticate(headers: AuthHeaders): Principal {
    const users = this.opts.users;
    if (users === null) return { subject: 'anonymous', kind: 'anonymous' };

    for (const candidate of candidates(headers)) {
      if (this.serviceDigest && timingSafeEqual(digest(candidate), this.serviceDigest)) {
        return { subject: 'service', kind: 'service' };
      }
      const owner = this.opts.tokens.verify(candidate, this.now());
      // Removing a user from the users file revokes their outstanding tokens.
      if (owner && users.has(owner.username)) return { subject: owner.username, kind: 'user' };
    }
    throw new SpawnerError('unauthorized', 'missing or invalid token');
  }
}

function candidates(h: AuthHeaders): string[] {
  const out: string[] = [];
  if (typeof h.token === 'string' && h.token.trim()) out.push(h.token.trim());
  if (typeof h.authorization === 'string') {
    const m = BEARER_RE.exec(h.authorization);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}
