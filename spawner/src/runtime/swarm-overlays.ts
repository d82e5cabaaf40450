/**
 * Instance overlays on Swarm: made after a subnet check Swarm itself does not do (it accepts an
 * overlay that overlaps another, and only its allocator fails later), and removed only once gone.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import * as nets from './docker-networks.js';
import type { DockerRuntime } from './docker.js';
import type { NetworkSpec } from './types.js';

export async function createOverlay(docker: Docker, spec: NetworkSpec): Promise<string> {
  if (spec.subnet) await nets.refuseOverlap(docker, spec.subnet);
  return nets.createNetwork(docker, spec, 'overlay');
}

/**
 * Swarm removes an overlay asynchronously: for ~0.5 s its name still answers, and a deploy of the
 * same name would find it "already there", use it, and see it vanish (every attach then "not
 * found"). So this returns once the name is free.
 */
export async function removeOverlay(local: Pick<DockerRuntime, 'removeNetwork' | 'inspectNetwork'>, name: string, o: { timeoutMs: number; pollMs: number }): Promise<void> {
  await local.removeNetwork(name);
  const deadline = Date.now() + o.timeoutMs;
  while (await local.inspectNetwork(name)) {
    if (Date.now() > deadline) throw new Error(`network ${name} still there ${o.timeoutMs} ms after its removal`);
    await sleep(o.pollMs);
  }
}
