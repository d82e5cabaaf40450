/** The wake listener's step-3 probe: through Traefik with this client's own routing value. */
import type { Request } from 'express';
import type { ThroughProxyRequest } from '../readiness/probes.js';
import { throughProxyRequest } from '../readiness/through-proxy.js';
import type { Identified } from './identify.js';
import type { WakeAppDeps } from './app.js';

export function probeRequest(d: WakeAppDeps, req: Request, who: Identified): ThroughProxyRequest | undefined {
  return throughProxyRequest(d.cfg, who.rec, who.value, d.probeNonce, req.headers.host);
}
