/**
 * Instance identity: a per-instance credential, distinct from the routing secret, handed to the
 * container at create (env) and presented back to GET /.spawner/self. Only its sha256 is kept. It
 * is bound to the instance's own address as well: a credential presented from another address
 * (another instance that got hold of it) is refused like a forged one.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';

/** Env variables the spawner sets in every instance; callers may not set them. */
export const IDENTITY_ENV = 'SPAWNER_IDENTITY_TOKEN';
export const SELF_URL_ENV = 'SPAWNER_SELF_URL';
export const RESERVED_ENV = [IDENTITY_ENV, SELF_URL_ENV] as const;

const PREFIX = 'sid1.';
const TOKEN_RE = /^sid1\.[A-Za-z0-9_-]{43}$/;

export function newIdentity(): { token: string; hash: string } {
  const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashIdentity(token) };
}

export const hashIdentity = (token: string) => createHash('sha256').update(token).digest('hex');

/** The credential from `Authorization: Bearer …`; undefined for anything malformed. */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer ([^\s]+)$/i.exec(header.trim());
  return m?.[1] && TOKEN_RE.test(m[1]) ? m[1] : undefined;
}

export function identityEnv(token: string, cfg: Config): Record<string, string> {
  return { [IDENTITY_ENV]: token, [SELF_URL_ENV]: cfg.identityUrl };
}

/** Where users reach the instance, by routing mode; relative unless SPAWNER_PUBLIC_URL is set. */
export function publicUrls(cfg: Config, name: string, routing: string): string[] {
  const base = cfg.publicUrl.replace(/\/+$/, '');
  if (routing === 'host') {
    const scheme = base.startsWith('https:') ? 'https' : 'http';
    const port = base ? new URL(base).port : '';
    return [`${scheme}://${name}.${cfg.appsDomain}${port ? `:${port}` : ''}/`];
  }
  if (routing === 'path') return [`${base}/${cfg.pathPrefix}/${name}/`];
  return [`${base}/`];
}
