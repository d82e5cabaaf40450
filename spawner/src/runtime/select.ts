/** The instance backend SPAWNER_RUNTIME names (config.ts says why it is never auto-detected). */
import type { RuntimeKind } from '../config.js';
import { DockerRuntime } from './docker.js';
import { SwarmRuntime } from './swarm.js';
import type { ContainerRuntime } from './types.js';

export function createRuntime(kind: RuntimeKind, opts: { healthStartIntervalMs?: number; longestStopSec?: number } = {}): ContainerRuntime {
  return kind === 'swarm' ? new SwarmRuntime(undefined, opts) : new DockerRuntime(undefined, { healthStartIntervalMs: opts.healthStartIntervalMs });
}
