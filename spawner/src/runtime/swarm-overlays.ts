/**
 * Instance overlays on Swarm: made after a subnet check Swarm itself does not do (it accepts an
 * overlay that overlaps another, and only its allocator fails later), and removed only once gone.
 */
import type Docker from 'dockerode';
import * as nets from './docker-networks.js';
import type { DockerRuntime } from './docker.js';
import type { NetworkSpec } from './types.js';
import { pollFor, type PollOptions } from './poll.js';

export async function createOverlay(docker: Docker, spec: NetworkSpec): Promise<string> {
  if (spec.subnet) await nets.refuseOverlap(docker, spec.subnet);
  return nets.createNetwork(docker, spec, 'overlay');
}

/**
 * Swarm removes an overlay asynchronously: for ~0.5 s its name still answers, and a deploy of the
 * same name would find it "already there", use it, and see it vanish (every attach then "not
 * found"). So this returns once the name is free.
 */
export async function removeOverlay(local: Pick<DockerRuntime, 'removeNetwork' | 'inspectNetwork'>, name: string, o: PollOptions): Promise<void> {
  await local.removeNetwork(name);
  await pollFor(`network ${name} still there after its removal`, async () => !(await local.inspectNetwork(name)), o);
}
