/**
 * Turns successive samples into "this instance was used since we last looked". Counters only say
 * something when compared with an earlier reading, so the tracker keeps one baseline per watched
 * instance; activity is claimed only for a change it actually saw, never for the unknown past.
 *
 * Signals, per instance:
 * - Traefik's completed-request counter grew (a counter that went down was reset: Traefik
 *   restarted or re-created the service; any requests since then count);
 * - Traefik reports open connections to its service (Traefik v2 only; see prometheus.ts);
 * - the container sent at least MIN_TX_BYTES since the last reading (Docker's network
 *   counters). This is what keeps an open SSE/WebSocket stream alive on Traefik v3, whose request
 *   counter moves only when the stream ends. Smaller deltas are the network's own chatter, not
 *   use: the ARP probe a kernel sends ~5 s after a conversation (42 bytes), a TCP keepalive ACK
 *   for a pooled idle connection (66 bytes). It does count traffic the app starts on its own,
 *   and the FIN of a keep-alive connection the app closes after its idle timeout (Node: 5 s after
 *   the last request) - run Traefik with serversTransport.maxIdleConnsPerHost=-1 so that the
 *   upstream connection closes with the response instead of echoing seconds later.
 */
import type { RequestSeries } from './prometheus.js';

/** Below this, bytes sent between two readings are ARP/TCP housekeeping, not an open stream. */
export const MIN_TX_BYTES = 100;

export interface TrafficReading {
  /** Container start time: network counters restart with the container. */
  startedAt: string;
  txBytes: number;
}

export interface ActivitySample {
  /** The instances this sample speaks for; baselines of other instances are left alone. */
  instances: readonly string[];
  requests: ReadonlyMap<string, number>;
  openConnections: ReadonlyMap<string, number>;
  /** Undefined when the runtime cannot read traffic at all; null for one reading that failed. */
  traffic?: ReadonlyMap<string, TrafficReading | null>;
  /** Every instance's request series of the same scrape (for the status figures, not for idleness). */
  series?: readonly RequestSeries[];
  traefikStartedAt?: number;
  /** Order in which the scrapes were started (sample.ts). */
  seq?: number;
}

export interface Observation {
  /** Used since the previous sample. */
  active: Set<string>;
  /** Which signals showed the use, per active instance (for the debug log: "why still up?"). */
  why: Map<string, string[]>;
  /** A signal could not be read: whether it was used is unknown (never stop it this round). */
  unknown: Set<string>;
}

export class ActivityTracker {
  private readonly requests = new Map<string, number>();
  private readonly traffic = new Map<string, TrafficReading>();
  private readonly since = new Map<string, number>();

  observe(s: ActivitySample, now: number): Observation {
    const obs: Observation = { active: new Set(), why: new Map(), unknown: new Set() };
    for (const name of s.instances) {
      if (!this.since.has(name)) this.since.set(name, now);
      // No series: Traefik has not counted a request for this service since it (re)created it.
      const req = s.requests.get(name) ?? 0;
      const prev = this.requests.get(name);
      this.requests.set(name, req);
      const why: string[] = [];
      if (prev !== undefined && (req > prev || (req < prev && req > 0))) why.push(`requests ${prev}->${req}`);
      const open = s.openConnections.get(name) ?? 0;
      if (open > 0) why.push(`open connections ${open}`);
      if (s.traffic) {
        const t = s.traffic.get(name);
        if (!t) {
          obs.unknown.add(name);
        } else {
          const before = this.traffic.get(name);
          const sent = before && before.startedAt === t.startedAt ? t.txBytes - before.txBytes : 0;
          if (sent >= MIN_TX_BYTES) why.push(`sent ${sent} bytes`);
          // Always re-baselined: housekeeping must not add up (42 bytes now and 66 later are not a stream).
          this.traffic.set(name, t);
        }
      }
      if (why.length) {
        obs.active.add(name);
        obs.why.set(name, why);
      }
    }
    return obs;
  }

  /** Since when the instance has been watched: what happened before that is unknowable. */
  watchedSince(name: string): number | undefined {
    return this.since.get(name);
  }

  /** Forgets instances no longer watched (stopped, removed, timeout 0): they start afresh. */
  retain(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const map of [this.requests, this.traffic, this.since]) {
      for (const k of [...map.keys()]) if (!keep.has(k)) map.delete(k);
    }
  }
}
