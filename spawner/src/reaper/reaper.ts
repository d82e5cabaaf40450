/**
 * The idle reaper: every idleCheckSec it samples activity (activity.ts) of every running instance
 * whose idle timeout is not 0, records what it saw (touchActivity) and stops the instances whose
 * last activity is older than their timeout.
 *
 * Two-phase stop, so a user who comes back at the last moment is not cut off:
 *   1. mark the instance draining (outside the lock, so the round is not held up by busy ones);
 *   2. under the instance lock: re-read the row and the container, take a FRESH sample, read the
 *      instance's socket table when SPAWNER_SOCKET_PROBE_IMAGE is set (an open connection, say a
 *      silent WebSocket, is use: see sockets.ts), and stop (service.stopLocked, reason `idle`:
 *      container stop timeout, then wait until Traefik drops the route) only if it is still
 *      idle. A wake that arrives meanwhile waits for the lock (Waker runs under it), then finds
 *      the container stopped and starts it again; a request that reached Traefik just before
 *      the route went is recovered by the spawner (wake/recover.ts).
 *
 * Detection delay. Activity is only seen when a check runs, and is then dated at that check, so
 * an instance is never stopped early. Last use at `a` is stopped between a + T and
 *   a + T + 2 x check period + stop time,
 * where the check period is max(idleCheckSec, one sample: Traefik scrape + Docker's one-shot
 * stats, which answer on the engine's ~1 s collector round), i.e. idleCheckSec plus the
 * granularity of the metrics. Traefik's counters themselves are live (no push interval) but move
 * only when a request ends, so a long request is "seen" at its end (or, with the socket table,
 * when a stop comes due while it is open; a silent connection is dated then). After a spawner restart the
 * clock starts at the first check (watchedSince): nothing is stopped for use we could not see.
 */
import type { Config } from '../config.js';
import { errorMessage, type Logger } from '../log.js';
import type { ContainerRuntime } from '../runtime/types.js';
import type { InstanceStore } from '../store/instances.js';
import type { InstanceService } from '../instances/service.js';
import type { TraefikApi } from '../traefik/api.js';
import { ownershipLabels } from '../traefik/labels.js';
import { ActivityTracker, type ActivitySample, type Observation } from './activity.js';
import { idleTimeoutSec, idleVerdict } from './policy.js';
import { collectSample, mapLimit, type Watched } from './sample.js';
import { countOpenConnections } from './sockets.js';
import type { InstanceRecord } from '../instances/types.js';

export interface ReaperTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ReaperDeps {
  cfg: Pick<Config, 'idleTimeoutSec' | 'idleCheckSec' | 'socketProbeImage'>;
  spawnerId: string;
  runtime: ContainerRuntime;
  instances: Pick<InstanceStore, 'list' | 'get' | 'touchActivity'>;
  service: Pick<InstanceService, 'locks' | 'stopLocked' | 'owned'> & Partial<Pick<InstanceService, 'states'>>;
  traefik: Pick<TraefikApi, 'metrics'>;
  log: Logger;
  now: () => number;
  timers?: ReaperTimers;
  /**
   * Every scrape of Traefik's metrics, for the instances' status figures (instances/stats.ts): one
   * scrape serves both. With it set, a round scrapes even when no instance is watched for idleness.
   */
  onSample?: (sample: ActivitySample, now: number) => void;
}

/** A throw-away container reads the table in ~0.1 s; a loaded engine may take seconds. */
const SOCKET_PROBE_TIMEOUT_MS = 10_000;

/** Idle stops in parallel per round (each one waits for its container and for Traefik). */
const STOP_CONCURRENCY = 4;

const realTimers: ReaperTimers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class IdleReaper {
  private readonly tracker = new ActivityTracker();
  private readonly draining = new Set<string>();
  private readonly timers: ReaperTimers;
  private timer: unknown;
  private current: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly d: ReaperDeps) {
    this.timers = d.timers ?? realTimers;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(this.d.cfg.idleCheckSec * 1000);
  }

  /** No new rounds or stops; resolves when the running round (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  isDraining(name: string): boolean {
    return this.draining.has(name);
  }

  /** Fixed rate: the next round starts one period after this one started (at once if it overran). */
  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      const started = this.d.now();
      this.current = this.check()
        .catch((err) => this.d.log.warn('idle check failed', { error: errorMessage(err) }))
        .finally(() => {
          this.current = undefined;
          this.schedule(Math.max(0, started + this.d.cfg.idleCheckSec * 1000 - this.d.now()));
        });
    }, delayMs);
  }

  /** One round. Public for tests and for an operator-triggered check. */
  async check(): Promise<void> {
    const watched = await this.watched();
    this.tracker.retain(watched.map((w) => w.rec.name));
    if (watched.length === 0 && !this.d.onSample) return;
    let sample: ActivitySample;
    try {
      sample = await collectSample(this.d.traefik, this.d.runtime, watched);
    } catch (err) {
      // Unknown activity is not idleness: skip the round rather than stop someone's app.
      if (watched.length) this.d.log.warn('idle check skipped: traefik metrics unreadable', { error: errorMessage(err) });
      else this.d.log.debug('status figures not updated: traefik metrics unreadable', { error: errorMessage(err) });
      return;
    }
    const now = this.d.now();
    const obs = this.record(sample, now);
    const due = watched.filter((w) => !obs.unknown.has(w.rec.name) && this.verdict(w.rec.name, w.info.startedAt, now)?.idle);
    await mapLimit(due, STOP_CONCURRENCY, (w) => this.stopIfIdle(w.rec.name));
  }

  /**
   * Running instances of ours whose timeout is not 0. From the event-fed state cache while it is
   * trusted (no engine call per round; a container whose start time the cache does not know yet,
   * i.e. one started since the last rescan, is inspected once); from the engine otherwise.
   */
  private async watched(): Promise<Watched[]> {
    const states = this.d.service.states;
    if (!states?.ready) return this.watchedFromEngine();
    const out: Watched[] = [];
    for (const rec of this.d.instances.list()) {
      const id = rec.containerId;
      if (!id || idleTimeoutSec(rec, this.d.cfg.idleTimeoutSec) <= 0) continue;
      const known = states.get(id);
      if (known?.state !== 'running') continue;
      let startedAt = known.startedAt;
      if (!startedAt) {
        const info = await states.observe(() => this.d.service.owned(id));
        if (!info || info.state !== 'running') continue;
        startedAt = info.startedAt;
      }
      out.push({ rec, info: { id, startedAt } });
    }
    return out;
  }

  private async watchedFromEngine(): Promise<Watched[]> {
    const containers = await this.d.runtime.list(ownershipLabels(this.d.spawnerId));
    const byId = new Map(containers.map((c) => [c.id, c]));
    return this.d.instances.list().flatMap((rec) => {
      const info = rec.containerId ? byId.get(rec.containerId) : undefined;
      if (!info || info.state !== 'running') return [];
      return idleTimeoutSec(rec, this.d.cfg.idleTimeoutSec) > 0 ? [{ rec, info }] : [];
    });
  }

  private record(sample: ActivitySample, now: number): Observation {
    try {
      this.d.onSample?.(sample, now);
    } catch (err) {
      // The status figures are a report: their failure must never keep an idle app running.
      this.d.log.warn('status figures not updated', { error: errorMessage(err) });
    }
    const obs = this.tracker.observe(sample, now);
    for (const name of obs.active) {
      this.d.instances.touchActivity(name, now);
      this.d.log.debug('idle: activity', { instance: name, signals: obs.why.get(name) });
    }
    return obs;
  }

  private verdict(name: string, startedAt: string | undefined, now: number) {
    const rec = this.d.instances.get(name);
    return rec && idleVerdict(rec, startedAt, this.tracker.watchedSince(name), now, this.d.cfg.idleTimeoutSec);
  }

  private async stopIfIdle(name: string): Promise<void> {
    // Busy (wake, start, stop, deploy in progress): it is being used or handled; look next round.
    if (this.stopped || this.d.service.locks.isLocked(name)) return;
    this.draining.add(name);
    this.d.log.debug('idle: draining', { instance: name });
    try {
      await this.d.service.locks.run(name, () => this.recheckAndStop(name));
    } catch (err) {
      this.d.log.warn('idle stop failed', { instance: name, error: errorMessage(err) });
    } finally {
      this.draining.delete(name);
    }
  }

  /**
   * Inbound connections open right now (sockets.ts). null when not looked at: no probe image, or
   * the table could not be read (then the other signals, which all said idle, decide; logged).
   */
  private async openConnections(rec: InstanceRecord, id: string): Promise<number | null> {
    const image = this.d.cfg.socketProbeImage;
    const read = this.d.runtime.readSocketTable?.bind(this.d.runtime);
    if (!image || !read) return null;
    try {
      return countOpenConnections(await read(id, image, SOCKET_PROBE_TIMEOUT_MS), rec.port);
    } catch (err) {
      this.d.log.warn('idle: open connections unknown (socket table unreadable); stopping on the other signals', {
        instance: rec.name, image, error: errorMessage(err),
      });
      return null;
    }
  }

  /** Caller holds the instance lock. */
  private async recheckAndStop(name: string): Promise<void> {
    if (this.stopped) return;
    const rec = this.d.instances.get(name);
    const info = rec?.containerId ? await this.d.service.owned(rec.containerId) : null;
    if (!rec || !info || info.state !== 'running') return;
    const sample = await collectSample(this.d.traefik, this.d.runtime, [{ rec, info }]);
    const now = this.d.now();
    const obs = this.record(sample, now);
    const v = this.verdict(name, info.startedAt, now);
    const fresh = this.d.instances.get(name);
    if (!fresh || !v?.idle || obs.unknown.has(name)) {
      this.d.log.info('idle stop cancelled: used while draining', { instance: name });
      return;
    }
    const open = await this.openConnections(fresh, info.id);
    if (open !== null && open > 0) {
      // A silent stream (WebSocket, long poll): in use. Dated now, so it is looked at again
      // one timeout later, not every round.
      this.d.instances.touchActivity(name, this.d.now());
      this.d.log.info('idle stop cancelled: open connections', { instance: name, open });
      return;
    }
    this.d.log.info('idle stop', { instance: name, idleForSec: Math.round(v.idleForMs / 100) / 10, timeoutSec: v.timeoutSec, open });
    await this.d.service.stopLocked(fresh, 'idle');
  }
}
