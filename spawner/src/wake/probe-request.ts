/** Builds the request the readiness gate sends through Traefik "as this client" (step 3). */
import type { Request } from 'express';
import type { ThroughProxyRequest } from '../readiness/probes.js';
import type { Identified } from './identify.js';
import type { WakeAppDeps } from './app.js';

export function probeRequest(d: WakeAppDeps, req: Request, who: Identified): ThroughProxyRequest | undefined {
  const { cfg } = d;
  if (!who.value && !who.rec.public) return undefined;
  const path = who.rec.routing === 'path' ? `/${cfg.pathPrefix}/${who.rec.name}/` : '/';
  const host = who.rec.routing === 'host' ? `${who.rec.name}.${cfg.appsDomain}` : (req.headers.host ?? 'localhost');
  const headers: Record<string, string> = { host, 'x-spawner-probe': d.probeNonce, accept: '*/*' };
  if (who.value) headers.cookie = `${cfg.cookieName}=${who.value}`;
  return { url: new URL(path, cfg.traefikEntrypointUrl).toString(), headers };
}
