/**
 * Pure parser of the Prometheus text exposition Traefik serves on /metrics, reduced to what the
 * idle reaper needs: per instance, how many requests its service has completed, and how many
 * connections are open to it when Traefik says so.
 *
 * What Traefik v3.6 actually exposes (checked against a running stack with
 * `--metrics.prometheus.addServicesLabels=true`):
 *   traefik_service_requests_total{code,method,protocol,service="spawner-i-<name>@docker"}
 *     - a counter, incremented when a request COMPLETES (a long SSE/WebSocket request is counted
 *       only when it ends); one series per code/method/protocol, so we sum over them;
 *     - the series of a service disappears when Traefik drops the service (instance stopped).
 *   traefik_open_connections{entrypoint,protocol} - per entrypoint only. Traefik v2's
 *     traefik_service_open_connections{service} no longer exists in v3; we still read it when a
 *     Traefik provides it, but on v3 open streams are detected from the container's own traffic
 *     (see activity.ts).
 */
import { INSTANCE_NAME_RE, ROUTER_PREFIX, SCOPE_SEPARATOR } from '../traefik/names.js';
import { SWITCH_PREFIX } from '../traefik/switch-file.js';

export const REQUESTS_METRIC = 'traefik_service_requests_total';
export const OPEN_CONNECTIONS_METRIC = 'traefik_service_open_connections';
/** The Go client's process collector: a new value means Traefik restarted (every counter reset). */
export const PROCESS_START_METRIC = 'process_start_time_seconds';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ServiceActivity {
  /** Sum of traefik_service_requests_total over every label set of the instance's services. */
  requests: Map<string, number>;
  /** Sum of open connections per instance (only when Traefik exposes them per service). */
  openConnections: Map<string, number>;
  /** Every request series of an instance's services, for the status figures (instances/stats.ts). */
  series: RequestSeries[];
  /** Traefik's process start (seconds since the epoch), when it exposes it. */
  traefikStartedAt?: number;
}

export interface RequestSeries {
  instance: string;
  /** Identifies the series across scrapes: service, code, method and protocol. */
  key: string;
  code: string;
  value: number;
}

/**
 * The instance a Traefik service name belongs to: `spawner-i-<name>@<provider>`, an opt-in
 * scoped service `spawner-i-<name>_<suffix>@<provider>` (names.ts: `_` never occurs in a name),
 * or the switch service `spawner-switch-<name>@file` that serves the instance's users during a
 * redeploy (its `__probe` twin carries only the gate's own request, and is not the users').
 */
export function instanceOfService(service: string): string | null {
  const at = service.lastIndexOf('@');
  const base = at >= 0 ? service.slice(0, at) : service;
  if (base.startsWith(SWITCH_PREFIX)) {
    const name = base.slice(SWITCH_PREFIX.length);
    return INSTANCE_NAME_RE.test(name) ? name : null;
  }
  if (!base.startsWith(ROUTER_PREFIX)) return null;
  const rest = base.slice(ROUTER_PREFIX.length);
  const sep = rest.indexOf(SCOPE_SEPARATOR);
  const name = sep >= 0 ? rest.slice(0, sep) : rest;
  return INSTANCE_NAME_RE.test(name) ? name : null;
}

/** Reads `name{k="v",...} value [timestamp]` lines; comments, blanks and malformed lines are skipped. */
export function parsePrometheus(text: string, wanted?: ReadonlySet<string>): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!m) continue;
    const name = m[0];
    if (wanted && !wanted.has(name)) continue;
    let pos = name.length;
    let labels: Record<string, string> = {};
    if (line[pos] === '{') {
      const parsed = parseLabels(line, pos + 1);
      if (!parsed) continue;
      labels = parsed.labels;
      pos = parsed.end;
    }
    const value = parseValue(line.slice(pos).trim().split(/\s+/)[0] ?? '');
    if (value === null) continue;
    out.push({ name, labels, value });
  }
  return out;
}

function parseValue(tok: string): number | null {
  if (tok === '') return null;
  const v = tok === '+Inf' ? Infinity : tok === '-Inf' ? -Infinity : Number(tok);
  return Number.isNaN(v) ? null : v;
}

/** Labels from just after `{`; returns the index after `}`, or null when the line is malformed. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } | null {
  const labels: Record<string, string> = {};
  let i = start;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const key = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
    if (!key || line[i + key[0].length] !== '=' || line[i + key[0].length + 1] !== '"') return null;
    i += key[0].length + 2;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) return null;
      if (c === '"') break;
      if (c === '\\') {
        const n = line[i + 1];
        value += n === 'n' ? '\n' : (n ?? '');
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[key[0]] = value;
    i++;
  }
}

/** Per-instance request totals and open connections from one scrape of Traefik's /metrics. */
export function parseServiceActivity(text: string): ServiceActivity {
  const requests = new Map<string, number>();
  const openConnections = new Map<string, number>();
  const series: RequestSeries[] = [];
  let traefikStartedAt: number | undefined;
  for (const s of parsePrometheus(text, new Set([REQUESTS_METRIC, OPEN_CONNECTIONS_METRIC, PROCESS_START_METRIC]))) {
    if (s.name === PROCESS_START_METRIC) {
      if (Number.isFinite(s.value)) traefikStartedAt = s.value;
      continue;
    }
    const instance = instanceOfService(s.labels.service ?? '');
    if (!instance || !Number.isFinite(s.value)) continue;
    const into = s.name === REQUESTS_METRIC ? requests : openConnections;
    into.set(instance, (into.get(instance) ?? 0) + s.value);
    if (s.name === REQUESTS_METRIC) {
      const l = s.labels;
      const code = l.code ?? '';
      series.push({ instance, key: [l.service, code, l.method ?? '', l.protocol ?? ''].join(' '), code, value: s.value });
    }
  }
  return { requests, openConnections, series, ...(traefikStartedAt !== undefined ? { traefikStartedAt } : {}) };
}
