/**
 * What the console's server sends its page: plain JSON, shared by the server (console/rows.ts)
 * and the browser (these web/ modules are served as ES modules, so they import nothing of Node).
 */
export interface ConsoleRow {
  name: string;
  /** Docker state (running, exited, …), `gone` (removed outside) or `creating`. */
  state: string;
  health: string;
  routing: string;
  image: string;
  /** Present once instances have revisions; the table shows the column only when some row has one. */
  revision?: string | null;
  /** 0 = never stopped for idleness. */
  idleTimeoutSec: number;
  /** Epoch ms at which an idle stop becomes due (running instances with a timeout only). */
  idleDueAt: number | null;
  /** Last use the idle reaper recorded (requests, traffic), epoch ms. */
  lastRequestAt: number | null;
  wakes: number;
  /** Total of the last successful wake, ms. */
  lastWakeMs: number | null;
  /** Owner labels as given at deploy (never Traefik or spawner labels). */
  labels: Record<string, string>;
  createdAt: number;
}

export interface WakeTiming {
  at: number;
  started: boolean;
  start: number;
  health: number;
  route: number;
  probe: number;
  total: number;
}

export interface LifecycleEntry {
  id: number;
  at: number;
  kind: string;
  reason: string | null;
  detail: Record<string, unknown> | null;
}

export interface InstanceDetail {
  row: ConsoleRow;
  events: LifecycleEntry[];
  wakes: WakeTiming[];
  /** Requests completed through Traefik per sampling interval: [epoch ms, count]. */
  requests: [number, number][];
}

export interface FleetView {
  /** Instances by state over time: [epoch ms, {state: count}]. */
  states: [number, Record<string, number>][];
  /** Percentiles (ms) of the last wakes, per phase. */
  wakePercentiles: Record<string, { p50: number; p90: number; p99: number; n: number }>;
  startsInFlight: number;
  maxConcurrentStarts: number;
}
