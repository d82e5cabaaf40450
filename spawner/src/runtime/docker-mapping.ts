/** Pure mapping between Docker Engine API shapes and the runtime port's types. */
import type { ContainerInfo, ContainerState, HealthState, RuntimeEvent, RuntimeEventKind } from './types.js';

export function labelFilters(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`);
}

/** Compares dotted API versions numerically ("1.41" < "1.44" < "1.100"). */
export function versionAtLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** Docker's health StartInterval (probe fast during the start period) exists from API 1.44. */
export const HEALTH_START_INTERVAL_MIN_API = '1.44';
/** The StartInterval the spawner adds there, unless configured (healthStartIntervalMs). */
export const DEFAULT_HEALTH_START_INTERVAL_MS = 50;

export interface HealthcheckPlan {
  /** Whether instances get the image's HEALTHCHECK with a fast StartInterval added. */
  startInterval: boolean;
  /** Which path this engine takes and why, for the start-up log. */
  reason: string;
}

/**
 * The engine-dependent part of a create: on API >= 1.44 the image's HEALTHCHECK is copied with a
 * fast StartInterval, so `healthy` follows the app within ~100 ms; older engines (Debian 12's
 * 20.10 is API 1.41) would reject the field, so the image's HEALTHCHECK is left as it is and the
 * first check runs one full interval after start.
 */
export function healthcheckPlan(apiVersion: string): HealthcheckPlan {
  return versionAtLeast(apiVersion, HEALTH_START_INTERVAL_MIN_API)
    ? { startInterval: true, reason: `API ${apiVersion} >= ${HEALTH_START_INTERVAL_MIN_API}: health StartInterval set on instances with a HEALTHCHECK` }
    : { startInterval: false, reason: `API ${apiVersion} < ${HEALTH_START_INTERVAL_MIN_API}: no health StartInterval; the first health check runs one interval after start` };
}

/** The Healthcheck to send on create, or undefined to keep the image's own (or none). */
export function instanceHealthcheck(
  plan: HealthcheckPlan, imageHealthcheck: Record<string, unknown> | undefined, startIntervalNs: number,
): Record<string, unknown> | undefined {
  const test = imageHealthcheck?.Test as string[] | undefined;
  if (!plan.startInterval || !imageHealthcheck || !test?.length || test[0] === 'NONE') return undefined;
  return { ...imageHealthcheck, StartInterval: startIntervalNs };
}

const STATES: readonly ContainerState[] = [
  'created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead',
];

interface InspectLike {
  Id: string;
  /** The image's content-addressed id (sha256:…), whatever reference created the container. */
  Image?: string;
  Name?: string;
  Config?: { Image?: string; Labels?: Record<string, string> | null; Healthcheck?: { Test?: string[] } };
  State?: { Status?: string; Health?: { Status?: string }; StartedAt?: string; ExitCode?: number };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

export function toContainerInfo(raw: InspectLike): ContainerInfo {
  const status = raw.State?.Status ?? 'dead';
  const test = raw.Config?.Healthcheck?.Test;
  const ips: Record<string, string> = {};
  for (const [net, ep] of Object.entries(raw.NetworkSettings?.Networks ?? {})) {
    if (ep.IPAddress) ips[net] = ep.IPAddress;
  }
  return {
    id: raw.Id,
    name: (raw.Name ?? '').replace(/^\//, ''),
    image: raw.Config?.Image ?? '',
    ...(raw.Image ? { imageId: raw.Image } : {}),
    state: (STATES as readonly string[]).includes(status) ? (status as ContainerState) : 'dead',
    health: toHealth(raw.State?.Health?.Status),
    hasHealthcheck: Array.isArray(test) && test.length > 0 && test[0] !== 'NONE',
    labels: raw.Config?.Labels ?? {},
    ips,
    startedAt: raw.State?.StartedAt,
    exitCode: raw.State?.ExitCode,
  };
}

function toHealth(s: string | undefined): HealthState {
  return s === 'starting' || s === 'healthy' || s === 'unhealthy' ? s : 'none';
}

interface EventLike {
  Type?: string;
  Action?: string;
  id?: string;
  time?: number;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

const KINDS: Record<string, RuntimeEventKind> = {
  create: 'create', start: 'start', die: 'die', stop: 'stop', destroy: 'destroy',
};

/** One line of the /events stream → RuntimeEvent, or null for actions we do not track. */
export function toRuntimeEvent(line: string): RuntimeEvent | null {
  let ev: EventLike;
  try {
    ev = JSON.parse(line) as EventLike;
  } catch {
    return null;
  }
  if (ev.Type !== 'container' || !ev.Action) return null;
  const attrs = { ...(ev.Actor?.Attributes ?? {}) };
  const id = ev.Actor?.ID ?? ev.id ?? '';
  const name = attrs.name ?? '';
  delete attrs.name;
  delete attrs.image;
  delete attrs.exitCode;
  const time = ev.timeNano ? Math.floor(ev.timeNano / 1e6) : (ev.time ?? 0) * 1000;
  if (ev.Action.startsWith('health_status')) {
    const health = toHealth(ev.Action.split(':')[1]?.trim());
    return { kind: 'health', id, name, labels: attrs, health, time };
  }
  const kind = KINDS[ev.Action];
  return kind ? { kind, id, name, labels: attrs, time } : null;
}

interface SummaryLike {
  Id: string;
  Names?: string[];
  Image?: string;
  State?: string;
  Status?: string;
  Labels?: Record<string, string> | null;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

/**
 * A container from the list endpoint, without an inspect. Health only shows in the status text
 * ("Up 3 minutes (healthy)"); a stopped container's health says nothing, so it is "none". The
 * start time is unknown here (only running containers need it, and those are inspected).
 */
export function summaryInfo(s: SummaryLike): ContainerInfo {
  const status = s.State ?? 'dead';
  const ips: Record<string, string> = {};
  for (const [net, ep] of Object.entries(s.NetworkSettings?.Networks ?? {})) {
    if (ep.IPAddress) ips[net] = ep.IPAddress;
  }
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(s.Status ?? '');
  const health = m ? toHealth(m[1] === 'health: starting' ? 'starting' : m[1]) : 'none';
  return {
    id: s.Id,
    name: (s.Names?.[0] ?? '').replace(/^\//, ''),
    image: s.Image ?? '',
    state: (STATES as readonly string[]).includes(status) ? (status as ContainerState) : 'dead',
    health: status === 'running' ? health : 'none',
    hasHealthcheck: m !== null,
    labels: s.Labels ?? {},
    ips,
  };
}
