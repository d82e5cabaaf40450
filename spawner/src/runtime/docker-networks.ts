/**
 * Network calls of DockerRuntime (kept apart so docker.ts stays readable). Every call is
 * idempotent in the direction the domain needs: creating what exists is a 409, removing or
 * disconnecting what is gone succeeds.
 */
import type Docker from 'dockerode';
import { overlaps } from './cidr.js';
import { NetworkConflictError, type NetworkInfo, type NetworkSpec } from './types.js';

interface NetworkLike {
  Id: string;
  Name: string;
  Labels?: Record<string, string> | null;
  Internal?: boolean;
  IPAM?: { Config?: { Subnet?: string }[] | null };
  Containers?: Record<string, unknown> | null;
}

export function toNetworkInfo(n: NetworkLike): NetworkInfo {
  return {
    id: n.Id,
    name: n.Name,
    labels: n.Labels ?? {},
    internal: n.Internal === true,
    subnet: n.IPAM?.Config?.[0]?.Subnet,
    members: Object.keys(n.Containers ?? {}),
  };
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | null)?.statusCode;
}
const messageOf = (err: unknown) => String((err as { message?: string } | null)?.message ?? '');

/** `overlay` (Swarm): attachable, so the edge containers (plain containers) can join it. */
export async function createNetwork(docker: Docker, spec: NetworkSpec, driver: 'bridge' | 'overlay' = 'bridge'): Promise<string> {
  try {
    const net = await docker.createNetwork({
      Name: spec.name,
      Driver: driver,
      ...(driver === 'overlay' ? { Attachable: true } : {}),
      CheckDuplicate: true,
      Internal: spec.internal,
      Labels: spec.labels,
      ...(spec.subnet ? { IPAM: { Driver: 'default', Config: [{ Subnet: spec.subnet }] } } : {}),
    });
    return net.id;
  } catch (err) {
    if (spec.subnet && /overlap/i.test(messageOf(err))) throw new NetworkConflictError(spec.subnet);
    throw err;
  }
}

/**
 * Throws NetworkConflictError when `subnet` overlaps a subnet of any network the engine lists (on
 * a Swarm manager: every overlay of the swarm, and this node's local networks). Swarm needs it:
 * it accepts an overlay whose subnet overlaps another and only its allocator fails afterwards,
 * when the network is first used ("Pool overlaps with other one on this address space").
 */
export async function refuseOverlap(docker: Docker, subnet: string): Promise<void> {
  const nets = (await docker.listNetworks()) as NetworkLike[];
  const taken = nets.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? ''));
  if (taken.some((t) => overlaps(t, subnet))) throw new NetworkConflictError(subnet);
}

export async function inspectNetwork(docker: Docker, name: string): Promise<NetworkInfo | null> {
  try {
    return toNetworkInfo((await docker.getNetwork(name).inspect()) as NetworkLike);
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw err;
  }
}

export async function listNetworks(docker: Docker, filterLabels: string[]): Promise<NetworkInfo[]> {
  // The list endpoint leaves Containers empty; members are read by inspect where needed.
  const nets = (await docker.listNetworks({ filters: { label: filterLabels } })) as NetworkLike[];
  return nets.map(toNetworkInfo);
}

export async function removeNetwork(docker: Docker, name: string): Promise<void> {
  const info = await inspectNetwork(docker, name);
  if (!info) return;
  for (const member of info.members) await disconnect(docker, name, member);
  try {
    await docker.getNetwork(info.id).remove();
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
}

export async function connect(docker: Docker, network: string, containerId: string, aliases: string[] = []): Promise<void> {
  try {
    await docker.getNetwork(network).connect({ Container: containerId, ...(aliases.length ? { EndpointConfig: { Aliases: aliases } } : {}) });
  } catch (err) {
    // 20.10 answers 403 "endpoint with name ... already exists" for a member.
    if (/already exists/i.test(messageOf(err))) return;
    throw err;
  }
}

export async function disconnect(docker: Docker, network: string, containerId: string): Promise<void> {
  try {
    // Force: also drops a stopped container's reference to a network removed outside, which
    // would otherwise make its next start fail ("network ... not found").
    await docker.getNetwork(network).disconnect({ Container: containerId, Force: true });
  } catch (err) {
    const s = statusOf(err);
    if (s === 404 || /is not connected/i.test(messageOf(err))) return;
    throw err;
  }
}
