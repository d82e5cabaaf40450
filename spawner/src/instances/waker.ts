/**
 * Single-flight wake. Concurrent requests for one instance share one promise; the flight is
 * forgotten when it settles, so a failure reaches the waiters of that flight once and the next
 * request starts afresh. The body runs under the instance lock, so a wake that arrives during an
 * idle stop waits for the stop and then starts the container again.
 */
import { SpawnerError } from '../errors.js';
import { errorMessage } from '../log.js';
import { describeProgress, waitReady, waitRouteGone, type GateDeps, type GateProgress, type GateTimings } from '../readiness/gate.js';
import type { ThroughProxyRequest } from '../readiness/probes.js';
import type { InstanceDeps } from './deps.js';
import type { InstanceService } from './service.js';
import type { InstanceRecord } from './types.js';
import { instanceAddress } from '../readiness/address.js';

export interface WakeOutcome {
  /** True when this wake started the container (false: it was already running). */
  started: boolean;
  /** `init`: only when this wake ran the instance's initialization. */
  timings: GateTimings & { start: number; total: number; init?: number };
}

/** Bound on waiting for Traefik to drop a failed-init instance's route (as service.stop does). */
const ROUTE_GONE_MS = 5_000;

export class Waker {
  private readonly flights = new Map<string, Promise<WakeOutcome>>();
  private starting = 0;
  private readonly queue: Array<() => void> = [];

  constructor(
    private readonly d: InstanceDeps,
    private readonly service: InstanceService,
    private readonly gate: GateDeps,
  ) {}

  /** Container starts in flight now (admission control counts these against maxConcurrentStarts). */
  get startsInFlight(): number {
    return this.starting;
  }

  inFlight(name: string): boolean {
    return this.flights.has(name);
  }

  /** Wakes queued behind the cap, that have not yet started anything. */
  get queued(): number {
    return this.queue.length;
  }

  wake(rec: InstanceRecord, throughProxy?: ThroughProxyRequest): Promise<WakeOutcome> {
    const joined = this.flights.get(rec.name);
    if (joined) return joined;
    // Admission control, before any Docker call: beyond the cap a new flight waits in line for a
    // slot (a class logging in at once is served in order, not told to come back in 2 s); beyond
    // the line, or after a wake deadline in it, it is refused.
    const full = this.starting >= this.d.cfg.maxConcurrentStarts && this.queue.length >= this.d.cfg.maxQueuedWakes;
    const asked = this.d.now();
    const flight = (full ? Promise.reject(this.overCapacity()) : this.admit())
      .then(() => this.run(rec, throughProxy, this.d.now() - asked).finally(() => this.release()))
      .finally(() => this.flights.delete(rec.name));
    this.flights.set(rec.name, flight);
    return flight;
  }

  private overCapacity(): SpawnerError {
    this.d.metrics.wakes.inc({ result: 'over_capacity' });
    return new SpawnerError('over_capacity', 'too many instances are starting; retry shortly', undefined, 2);
  }

  /** Takes a start slot now, or when release() hands one over (FIFO); bounded by the wake deadline. */
  private admit(): Promise<void> {
    if (this.starting < this.d.cfg.maxConcurrentStarts) {
      this.starting++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => { clearTimeout(timer); resolve(); };
      const timer = setTimeout(() => {
        this.queue.splice(this.queue.indexOf(grant), 1);
        reject(this.overCapacity());
      }, this.d.cfg.wakeDeadlineSec * 1000);
      timer.unref();
      this.queue.push(grant);
    });
  }

  /** A flight settled: its slot goes to the oldest queued wake, or back to the pool. */
  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.starting--;
  }

  /** `queuedMs`: time spent in line, taken off the wake deadline (one deadline per wake). */
  private run(given: InstanceRecord, throughProxy: ThroughProxyRequest | undefined, queuedMs: number): Promise<WakeOutcome> {
    return this.service.locks.run(given.name, async () => {
      // Read again under the lock: a redeploy that held it may have moved the instance to a new
      // container (and port), so a wake queued behind it starts the new revision.
      const rec = this.d.instances.get(given.name) ?? given;
      const t0 = this.d.now();
      const deadline = AbortSignal.timeout(Math.max(1, this.d.cfg.wakeDeadlineSec * 1000 - queuedMs));
      const info = await this.service.requireContainer(rec);
      const started = info.state !== 'running';
      const progress: GateProgress = { step: 'app' };
      try {
        if (started) {
          await this.service.ours(info.id, 'start', () => this.d.runtime.start(info.id));
        }
        const tStart = this.d.now() - t0;
        const gate = await waitReady(this.gate, { record: rec, containerId: info.id, throughProxy }, deadline, progress);
        const init = await this.initialize(rec, info.id, started);
        const outcome = { started, timings: { ...gate, start: tStart, ...init, total: this.d.now() - t0 } };
        this.recordSuccess(rec, outcome);
        return outcome;
      } catch (err) {
        const initFailed = err instanceof SpawnerError && err.code === 'init_failed';
        throw await this.fail(rec, { id: info.id, started, ms: this.d.now() - t0 }, err, deadline.aborted && !initFailed ? progress : undefined);
      }
    });
  }

  /**
   * After the gate: the instance's init when it never succeeded (or, with every-start, after each
   * start), on the instance's own address. Its own deadline, not the wake's.
   */
  private async initialize(rec: InstanceRecord, id: string, started: boolean): Promise<{ init?: number }> {
    const init = this.d.init;
    if (!init?.needed(rec.name, started)) return {};
    const t0 = this.d.now();
    const info = await this.d.runtime.inspect(id);
    const ip = info ? instanceAddress(this.d.cfg, info, rec) : undefined;
    if (!ip) throw new SpawnerError('wake_failed', `container has no address on network ${rec.network}`);
    try {
      await init.run(rec.name, ip, rec.port);
    } catch (err) {
      const reason = err instanceof SpawnerError ? init.view(rec.name, false)?.reason ?? err.code : 'internal';
      this.d.events.append({ instance: rec.name, kind: 'init_failed', reason }, this.d.now());
      throw err;
    }
    const ms = this.d.now() - t0;
    this.d.events.append({ instance: rec.name, kind: 'init_ok', detail: { ms } }, this.d.now());
    return { init: ms };
  }

  private recordSuccess(rec: InstanceRecord, o: WakeOutcome): void {
    const now = this.d.now();
    this.d.instances.touchWake(rec.name, now);
    this.d.events.append({ instance: rec.name, kind: 'wake', detail: { started: o.started, ...o.timings } }, now);
    this.d.metrics.wakes.inc({ result: 'ok' });
    for (const [phase, ms] of Object.entries(o.timings)) {
      this.d.metrics.wakePhase.observe({ phase }, ms / 1000);
    }
    this.d.log.info('wake', { instance: rec.name, result: 'ok', ...o });
  }

  /**
   * `attempt.ms`: how long the wake ran until it failed (the `total` of its wake_failed record).
   * A failed wake stops the container only if this wake started it: a container that was already
   * running was serving someone, and stopping it (as the original spawner did) would hurt them.
   */
  private async fail(rec: InstanceRecord, attempt: { id: string; started: boolean; ms: number }, err: unknown, stuck: GateProgress | undefined) {
    const { id, started } = attempt;
    const timedOut = stuck !== undefined;
    const reason = stuck ? `deadline: ${describeProgress(stuck)}` : errorMessage(err);
    // A failed init stops the container even if it was running: an uninitialized app must not be
    // routed to (Traefik drops its route once it stops); the next wake runs init again.
    const initFailed = err instanceof SpawnerError && err.code === 'init_failed';
    const stop = started || initFailed;
    this.d.log.warn('wake', { instance: rec.name, result: 'failed', reason, started });
    this.d.metrics.wakes.inc({ result: timedOut ? 'timeout' : initFailed ? 'init_failed' : 'error' });
    if (stop) {
      await this.service.ours(id, 'stop', () => this.d.runtime.stop(id, this.d.cfg.stopTimeoutSec)).catch(() => undefined);
      this.d.metrics.stops.inc({ reason: initFailed ? 'failed_init' : 'failed_wake' });
      // The container was serving through Traefik (it passed the gate): answer once its route is
      // gone, so the client's next request meets the listener's error, not a dead address.
      if (initFailed && this.d.traefik) await waitRouteGone(this.d.traefik, rec.name, AbortSignal.timeout(ROUTE_GONE_MS));
    }
    this.d.events.append({ instance: rec.name, kind: 'wake_failed', reason, detail: { stopped: stop, started, total: attempt.ms } }, this.d.now());
    if (timedOut) {
      return new SpawnerError('wake_timeout', `instance ${rec.name} did not become ready within ${this.d.cfg.wakeDeadlineSec} s, ${describeProgress(stuck, false)}`, undefined, 5);
    }
    return err instanceof SpawnerError && err.code !== 'internal'
      ? err
      : new SpawnerError('wake_failed', `instance ${rec.name} could not be started`, undefined, 5);
  }
}
