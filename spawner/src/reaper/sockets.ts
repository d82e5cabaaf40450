/**
 * Open connections of an instance, from the kernel's socket table of its network namespace
 * (/proc/net/tcp and /proc/net/tcp6 as read by a throw-away container sharing that namespace,
 * runtime.readSocketTable). Traefik 3 has no per-service open-connections metric (v2's
 * traefik_service_open_connections was replaced by one per entrypoint), and a silent WebSocket or
 * a long request moves neither Traefik's request counter (it counts a request when it ends) nor
 * the container's sent bytes. The socket table sees them.
 *
 * Counted: ESTABLISHED connections TO the app's port from outside the container. Loopback peers
 * are left out: those are the container's own HEALTHCHECK and the like, not users. With Traefik's
 * serversTransport.maxIdleConnsPerHost=-1 (as our compose and tests run it) Traefik keeps no idle
 * upstream connections, so every connection counted carries a request or a stream.
 */

const ESTABLISHED = '01';

/** Number of inbound, non-loopback ESTABLISHED connections to `port` in a /proc/net/tcp{,6} dump. */
export function countOpenConnections(table: string, port: number): number {
  let n = 0;
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st ...; header lines have "local_address" in field 1
    if (f.length < 4 || f[3] !== ESTABLISHED) continue;
    const local = splitAddress(f[1] ?? '');
    const remote = splitAddress(f[2] ?? '');
    if (!local || !remote || local.port !== port || isLoopback(remote.ip)) continue;
    n++;
  }
  return n;
}

function splitAddress(s: string): { ip: string; port: number } | null {
  const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(s);
  return m ? { ip: (m[1] as string).toUpperCase(), port: parseInt(m[2] as string, 16) } : null;
}

/**
 * The kernel prints each 32-bit word of an address in host byte order (little-endian here):
 * 127.0.0.1 is 0100007F, ::1 is 00000000 00000000 00000000 01000000, and ::ffff:127.x.y.z is
 * 00000000 00000000 FFFF0000 zzyyx7F.
 */
function isLoopback(ip: string): boolean {
  if (ip.length === 8) return ip.endsWith('7F');
  if (ip === '00000000000000000000000001000000') return true;
  return ip.startsWith('0000000000000000FFFF0000') && ip.endsWith('7F');
}
