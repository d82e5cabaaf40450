import type { RoutingMode } from '../config.js';
import type { InitSpec } from './init.js';

/** What a validated deploy request asks for (output of api/validate.ts, input of the service). */
export interface DeploySpec {
  name: string;
  image: string;
  network: string;
  port: number;
  routing: RoutingMode;
  /** Public instances can be reached without presenting the routing secret. */
  public: boolean;
  /** Whether the instance's own network routes out (false: an internal network). */
  egress: boolean;
  /** URL probed over HTTP for readiness (the original's `health-check` label). */
  healthCheck?: string;
  /** Per-instance idle timeout in seconds; undefined = global default; 0 = never. */
  idleTimeoutSec?: number;
  /** User labels that passed the label policy (no traefik.*, origin or spawner.* unless opted in). */
  labels: Record<string, string>;
  /** Opt-in only: traefik.* labels scoped to this instance, already policy-checked. */
  traefikLabels: Record<string, string>;
  env: Record<string, string>;
  limits: { memoryMb: number; cpus: number; pids: number };
  /** Initialization after the first readiness (instances/init.ts). */
  init?: InitSpec;
  /**
   * The managed data volume (instances/volumes.ts): where it is mounted, and whether a retained
   * volume of this instance name may be reattached (never without asking: it may be someone else's).
   */
  volume?: { path: string; reuse?: boolean };
}

/** One row of the instances table. */
export interface InstanceRecord {
  name: string;
  containerId: string | null;
  image: string;
  network: string;
  port: number;
  routing: RoutingMode;
  public: boolean;
  /** sha256 hex of the routing secret; null when bare-name cookies are used. */
  secretHash: string | null;
  healthCheck: string | null;
  idleTimeoutSec: number | null;
  labels: Record<string, string>;
  createdAt: number;
  lastWakeAt: number | null;
  lastActivityAt: number | null;
}

export type LifecycleKind =
  | 'deployed' | 'started' | 'stopped' | 'removed' | 'wake' | 'wake_failed'
  | 'adopted' | 'cleaned' | 'external_start' | 'external_stop' | 'external_remove' | 'network_repaired'
  | 'init_ok' | 'init_failed' | 'identity_revoked'
  | 'volume_created' | 'volume_reattached' | 'volume_retained' | 'volume_removed' | 'volume_missing';

export type StopReason = 'idle' | 'deleted' | 'failed_wake' | 'failed_init' | 'external' | 'api';

export interface LifecycleEvent {
  id: number;
  at: number;
  instance: string;
  kind: LifecycleKind;
  reason: string | null;
  detail: Record<string, unknown> | null;
}
