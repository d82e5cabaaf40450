/**
 * GET /.spawner/self: an instance asks who it is, with its identity credential
 * (`Authorization: Bearer <SPAWNER_IDENTITY_TOKEN>`), through Traefik's public entrypoint. It
 * learns its own name, revision, public URL(s), routing mode and init status, nothing else.
 *
 * A missing, malformed, unknown, revoked or another instance's credential (one presented from an
 * address that is not its instance's) all get the same 401, and count as failures per client
 * address, which is blocked with backoff (429) after a few. The client address is the right-most
 * X-Forwarded-For entry, the one Traefik appended (it drops client-sent X-Forwarded-* headers);
 * this relies on the listener being reachable only through Traefik.
 */
import type { Request, Response } from 'express';
import type { Config } from '../config.js';
import { SpawnerError } from '../errors.js';
import type { BackoffTable } from '../auth/rate-limit.js';
import type { InstanceService } from '../instances/service.js';
import type { Initializer } from '../instances/init.js';
import { bearerToken, hashIdentity, publicUrls } from '../instances/identity.js';
import { instanceAddress } from '../readiness/address.js';
import type { IdentityStore } from '../store/identity.js';
import type { InstanceStore } from '../store/instances.js';

export const SELF_PATH = '/.spawner/self';

export interface SelfDeps {
  cfg: Config;
  instances: InstanceStore;
  identities: IdentityStore;
  service: Pick<InstanceService, 'owned'>;
  init?: Initializer;
  limiter: BackoffTable;
}

/** Right-most X-Forwarded-For entry, else the socket's peer; IPv4-mapped IPv6 unwrapped. */
export function clientAddress(xff: unknown, peer: string | undefined): string {
  const list = typeof xff === 'string' ? xff.split(',').map((s) => s.trim()).filter(Boolean) : [];
  const ip = list.at(-1) ?? peer ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

const UNAUTHORIZED = () => new SpawnerError('unauthorized', 'a valid identity credential of this instance is required');

export async function self(d: SelfDeps, req: Request, res: Response, send: (res: Response, err: unknown) => void): Promise<void> {
  const ip = clientAddress(req.headers['x-forwarded-for'], req.socket.remoteAddress);
  const wait = d.limiter.blockedFor(ip);
  if (wait > 0) return send(res, new SpawnerError('rate_limited', 'too many failed identity requests; retry later', undefined, Math.ceil(wait / 1000)));
  const token = bearerToken(req.headers.authorization);
  const name = token ? d.identities.instanceOf(hashIdentity(token)) : undefined;
  const rec = name ? d.instances.get(name) : undefined;
  const info = rec?.containerId ? await d.service.owned(rec.containerId).catch(() => null) : null;
  if (!rec || !info || instanceAddress(d.cfg, info, rec) !== ip) {
    d.limiter.fail(ip);
    return send(res, UNAUTHORIZED());
  }
  d.limiter.reset(ip);
  const init = d.init?.view(rec.name, false);
  res.json({
    name: rec.name,
    // The active revision's number; null for instances deployed before revisions existed.
    revision: rec.revision ?? null,
    routing: rec.routing,
    urls: publicUrls(d.cfg, rec.name, rec.routing),
    init: init ? { status: init.status } : null,
  });
}
