/**
 * The request the readiness gate sends through Traefik "as the client" (step 3): the instance's
 * routing path and Host, the client's routing cookie, and the per-process probe nonce so that, if
 * it falls through to our own catch-all, the listener answers at once instead of joining the wake.
 */
import type { Config } from '../config.js';
import type { InstanceRecord } from '../instances/types.js';
import type { ThroughProxyRequest } from './probes.js';

export function throughProxyRequest(
  cfg: Config,
  rec: InstanceRecord,
  value: string | undefined,
  probeNonce: string,
  clientHost = 'localhost',
): ThroughProxyRequest | undefined {
  if (!value && !rec.public) return undefined;
  const path = rec.routing === 'path' ? `/${cfg.pathPrefix}/${rec.name}/` : '/';
  const host = rec.routing === 'host' ? `${rec.name}.${cfg.appsDomain}` : clientHost;
  const headers: Record<string, string> = { host, 'x-spawner-probe': probeNonce, accept: '*/*' };
  if (value) headers.cookie = `${cfg.cookieName}=${value}`;
  return { url: new URL(path, cfg.traefikEntrypointUrl).toString(), headers };
}
