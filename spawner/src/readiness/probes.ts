/** Network probes used by the readiness gate. Each returns true when the target is ready. */
import net from 'node:net';
import { request } from 'undici';

/** HTTP GET; 2xx/3xx means ready. Any error or other status means "not yet". */
export async function httpReady(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.status >= 200 && res.status < 400;
  } catch {
    return false;
  }
}

/** TCP connect; used when an app has neither a HEALTHCHECK nor an HTTP health path. */
export function tcpReady(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Header every answer of the wake listener carries, so a probe through Traefik can tell whether
 * it reached the app or fell through to the spawner's catch-all router. */
export const WAKE_MARKER_HEADER = 'x-spawner-wake';

export interface ThroughProxyRequest {
  url: string;
  headers: Record<string, string>;
}

/** Ready when a request through Traefik's entrypoint is answered by something other than us.
 * undici's request (not fetch) because host-mode routing needs an explicit Host header. */
export async function reachesApp(req: ThroughProxyRequest, timeoutMs: number): Promise<boolean> {
  try {
    const res = await request(req.url, {
      method: 'GET',
      headers: req.headers,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body.dump();
    if (res.headers[WAKE_MARKER_HEADER] !== undefined) return false;
    // Traefik answers 502/503/504 itself while a backend is not reachable yet.
    return res.statusCode < 502 || res.statusCode > 504;
  } catch {
    return false;
  }
}
