/**
 * "Is this client one of our instances?" On a network that instances share with the spawner
 * (compose's default), an instance can open port 8008; the console refuses such clients. The
 * answer comes from the engine's list of our containers (their addresses on every network),
 * cached briefly so a page's requests do not each list the engine.
 */
import type { ContainerInfo } from '../runtime/types.js';

const LOOPBACK = /^(127\.|::1$)/;

export function instanceAddressCheck(
  list: () => Promise<ContainerInfo[]>,
  opts: { now?: () => number; ttlMs?: number } = {},
): (ip: string) => Promise<boolean> {
  const now = opts.now ?? Date.now;
  const ttl = opts.ttlMs ?? 2_000;
  let cached: { at: number; ips: Promise<Set<string>> } | null = null;
  return async (ip) => {
    if (LOOPBACK.test(ip)) return false;
    if (!cached || now() - cached.at > ttl) {
      const ips = list().then((infos) => new Set(infos.flatMap((i) => Object.values(i.ips))));
      cached = { at: now(), ips };
      // A failed list is not cached; and while the engine is away, refuse rather than guess.
      ips.catch(() => { cached = null; });
    }
    try {
      return (await cached.ips).has(ip);
    } catch {
      return true;
    }
  };
}
