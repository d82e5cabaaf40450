/**
 * The instance's address: where the spawner itself talks to an instance (readiness probes, the
 * init POST). One place, so a change of how instances are attached (e.g. a network per instance)
 * changes every caller at once. Never taken from a request or a label.
 */
import type { Config } from '../config.js';
import type { ContainerInfo } from '../runtime/types.js';
import type { InstanceRecord } from '../instances/types.js';
import { instanceNetworkName } from '../instances/deps.js';

/**
 * The container's IP on the instance's own network (the one only it, Traefik and the spawner
 * share); undefined when it has none (not running).
 */
export function instanceAddress(cfg: Config, info: ContainerInfo, rec: InstanceRecord): string | undefined {
  return info.ips[instanceNetworkName(cfg, rec.name)];
}

/** `http://<ip>:<port>` (IPv6 bracketed) for a path on the instance's own address. */
export function instanceUrl(ip: string, port: number, path: string): string {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return `http://${host}:${port}${path}`;
}
