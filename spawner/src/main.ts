/** Wiring only: build every part from the config, start both listeners, stop cleanly on SIGTERM. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Config } from './config.js';
import { createLogger, errorMessage, type Logger } from './log.js';
import { createMetrics, Gauge } from './metrics.js';
import { openDatabase, getOrCreateSpawnerId, type Database } from './store/db.js';
import { InitStore } from './store/init.js';
import { IdentityStore } from './store/identity.js';
import { RevisionStore } from './store/revisions.js';
import { Revisions } from './instances/revisions.js';
import { VolumeStore } from './store/volumes.js';
import { Initializer } from './instances/init.js';
import { convergeInit } from './instances/init-converge.js';
import { convergeRevisions } from './instances/revisions-converge.js';
import { parseKey } from './secrets/seal.js';
import { InstanceStore } from './store/instances.js';
import { EventLog } from './store/events.js';
import { TokenStore } from './store/tokens.js';
import { AuthService } from './auth/service.js';
import { BackoffTable, LoginRateLimiter, type BackoffPolicy } from './auth/rate-limit.js';
import { loadUsersFile, UsersFileMissingError } from './auth/users.js';
import { createRuntime } from './runtime/select.js';
import { healthcheckPlan } from './runtime/docker-mapping.js';
import type { ContainerRuntime } from './runtime/types.js';
import { TraefikApi } from './traefik/api.js';
import { applyDefaultCertificate } from './traefik/default-cert.js';
import { edgeLabels, ownershipLabels, traefikProvider } from './traefik/labels.js';
import { Listeners, resolveHosts } from './listen.js';
import { HealthWatcher } from './readiness/health.js';
import { InstanceService } from './instances/service.js';
import { Waker } from './instances/waker.js';
import { Redeployer } from './instances/redeploy.js';
import { RolloutStore } from './store/rollouts.js';
import { RolloutRunner } from './rollouts/runner.js';
import { instanceUpgrader } from './rollouts/upgrader.js';
import { Reconciler } from './instances/reconcile.js';
import { IdleReaper } from './reaper/reaper.js';
import type { ActivitySample } from './reaper/activity.js';
import { InstanceStats, runningSince } from './instances/stats.js';
import { StatsStore } from './store/stats.js';
import { WakeHistory } from './store/wake-history.js';
import { createApiApp } from './api/app.js';
import { listRuntimes } from './catalogue/catalogue.js';
import { createWakeApp } from './wake/app.js';
import { ConsoleHub } from './console/hub.js';
import { instanceAddressCheck } from './console/addresses.js';

/** GET /.spawner/self: 10 failures per client address within a minute, then 1 s doubling to 60 s. */
const SELF_POLICY: BackoffPolicy = { maxFailures: 10, windowSec: 60, baseBackoffSec: 1, maxBackoffSec: 60, maxEntries: 10_000 };

export interface Running {
  spawnerId: string;
  apiServer: Server;
  wakeServer: Server;
  shutdown(): Promise<void>;
}

function loadUsers(cfg: Config, log: Logger): Map<string, string> | null {
  if (cfg.authDisabled) {
    log.warn('AUTHENTICATION IS DISABLED: anyone who can reach the deploy API can create and delete containers');
    return null;
  }
  try {
    return loadUsersFile(cfg.usersFile);
  } catch (err) {
    if (err instanceof UsersFileMissingError) {
      throw new Error(`users file ${cfg.usersFile} not found: create it (lines "username,<hash>", see \`spawner hash-password\`), set SPAWNER_USERS_FILE, or set SPAWNER_AUTH_DISABLED=true for development`);
    }
    throw err;
  }
}

/**
 * The init key. Without one, deploys with `init` are refused; but a database that already holds
 * init rows cannot be served without it (their data could not be opened, nor init re-run), so
 * the spawner refuses to start rather than half-work.
 */
function initKey(cfg: Config, store: InitStore, db: Database): Buffer | null {
  try {
    if (cfg.initKey) return parseKey(cfg.initKey, 'SPAWNER_INIT_KEY (or SPAWNER_INIT_KEY_FILE)');
    const n = store.count();
    if (n > 0) throw new Error(`${n} instance(s) were deployed with init, whose data is sealed: set SPAWNER_INIT_KEY_FILE (or SPAWNER_INIT_KEY) to the key they were sealed with`);
    return null;
  } catch (err) {
    db.close(); // refusing to start: leave the file closed
    throw err;
  }
}

export async function startSpawner(cfg: Config, runtime: ContainerRuntime = createRuntime(cfg.runtime, {
  healthStartIntervalMs: cfg.healthStartIntervalMs, longestStopSec: Math.max(cfg.stopTimeoutSec, cfg.drainDeadlineSec),
})): Promise<Running> {
  const log = createLogger(cfg.logLevel);
  const users = loadUsers(cfg, log);
  const db = openDatabase(join(cfg.dataDir, 'spawner.db'));
  const spawnerId = getOrCreateSpawnerId(db, cfg.spawnerId);
  const instances = new InstanceStore(db);
  const events = new EventLog(db);
  const metrics = createMetrics();
  const now = () => Date.now();
  const auth = new AuthService({
    users, tokens: new TokenStore(db), limiter: new LoginRateLimiter({}), serviceToken: cfg.serviceToken, tokenTtlSec: cfg.tokenTtlSec,
  });
  const traefik = new TraefikApi(cfg.traefikApiUrl, undefined, traefikProvider(cfg.runtime));
  await applyDefaultCertificate(cfg.traefikDynamicDir, cfg.traefikDefaultCertificate, log);
  const initStore = new InitStore(db);
  const key = initKey(cfg, initStore, db);
  const init = new Initializer({ store: initStore, key, maxResultBytes: cfg.initMaxResultBytes, log, now });
  const identities = new IdentityStore(db);
  // The same key seals each revision's env (it may hold tenant secrets); without one it is plain.
  const revisions = new Revisions(new RevisionStore(db), key, cfg.revisionsKeep);
  const deps = { cfg, runtime, instances, events, spawnerId, log, metrics, now, traefik, init, identities, revisions, volumes: new VolumeStore(db) };
  const service = new InstanceService(deps);
  const health = new HealthWatcher(runtime);
  const gate = { cfg, runtime, health, traefik, now };
  const waker = new Waker(deps, service, gate);
  const reconciler = new Reconciler(deps, service);
  const hub = new ConsoleHub({
    cfg, service, instances, events, traefik, log, now, startsInFlight: () => waker.startsInFlight,
  });
  metrics.registry.add(new Gauge('spawner_instances', 'Registered instances by last known container state', () => service.instancesByState()));

  await runtime.ping().catch((err) => log.warn('docker engine not answering yet', { error: errorMessage(err) }));
  // Which engine-dependent path creates take (the same decision DockerRuntime makes on create).
  await runtime.apiVersion().then(
    (apiVersion) => {
      const plan = healthcheckPlan(apiVersion);
      log.info('docker engine', { runtime: cfg.runtime, apiVersion, healthStartInterval: plan.startInterval, healthStartIntervalMs: plan.startInterval ? cfg.healthStartIntervalMs : undefined, path: plan.reason });
    },
    (err) => log.warn('docker engine API version unknown yet', { error: errorMessage(err) }),
  );
  const rescan = () => reconciler.rescan().catch((err) => log.warn('rescan failed', { error: errorMessage(err) }));
  const watchAbort = new AbortController();
  runtime.watch(ownershipLabels(spawnerId), (ev) => {
    health.onEvent(ev);
    service.states.apply(ev);
    reconciler.onEvent(ev);
    hub.notify();
  }, {
    signal: watchAbort.signal,
    onReconnect: () => {
      log.info('docker event stream connected; rescanning');
      void rescan();
    },
    onError: (err) => {
      service.states.invalidate();
      log.warn('docker event stream interrupted; reconnecting', { error: errorMessage(err) });
    },
  });
  // A recreated (or restarted) Traefik is on no instance network: put it back at once, not at the
  // next periodic rescan. Edge containers' events only; the rescan connects what is missing.
  runtime.watch(edgeLabels(spawnerId), (ev) => {
    if (ev.kind === 'start') void rescan();
  }, { signal: watchAbort.signal, onError: (err) => log.debug('edge event stream interrupted', { error: errorMessage(err) }) });
  await rescan();
  await convergeInit(deps, initStore, service);
  await convergeRevisions(deps, service);
  const rescanTimer = setInterval(() => { void rescan(); }, cfg.rescanSec * 1000);
  rescanTimer.unref();
  const stats = new InstanceStats({
    cfg, store: new StatsStore(db), wakes: new WakeHistory(db), instances, events, now, runningSince: () => runningSince(instances, service.states),
  });
  metrics.registry.add(stats);
  const onSample = (s: ActivitySample, t: number) => stats.observe({ series: s.series ?? [], traefikStartedAt: s.traefikStartedAt, seq: s.seq }, t);
  const reaper = new IdleReaper({ cfg, spawnerId, runtime, instances, service, traefik, log, now, onSample });
  reaper.start();
  hub.start();

  let closing = false;
  const isClosing = () => closing;
  const probeNonce = randomBytes(16).toString('hex');
  const redeployer = new Redeployer(deps, service, gate, probeNonce);
  const rolloutStore = new RolloutStore(db);
  const rollouts = new RolloutRunner({ store: rolloutStore, upgrader: instanceUpgrader(instances, service, redeployer), log, now });
  const consoleDeps = {
    auth, service, hub, tokenTtlSec: cfg.tokenTtlSec,
    isInstanceAddress: instanceAddressCheck(() => runtime.list(ownershipLabels(spawnerId))),
  };
  const runtimes = () => listRuntimes(runtime, cfg.allowedImages);
  const self = { cfg, instances, identities, service, init, limiter: new BackoffTable(SELF_POLICY, now) };
  const hosts = await resolveHosts(cfg, runtime, log);
  const api = await Listeners.open(createApiApp({ cfg, auth, service, events, metrics, isClosing, waker, probeNonce, runtimes, init, redeployer, console: consoleDeps, stats, rollouts: { cfg, runner: rollouts, store: rolloutStore } }), hosts.api, cfg.apiPort);
  const wake = await Listeners.open(createWakeApp({ cfg, instances, waker, service, log, now, probeNonce, isClosing, self }), hosts.wake, cfg.wakePort);
  const apiServer = api.first;
  const wakeServer = wake.first;
  // Rollouts that were pulling or running when the last process stopped go on (paused ones wait).
  rollouts.resumeAll();
  log.info('spawner started', { spawnerId, apiPort: cfg.apiPort, wakePort: cfg.wakePort, apiHosts: hosts.api, wakeHosts: hosts.wake, auth: users ? 'enabled' : 'disabled' });

  const shutdown = async () => {
    if (closing) return;
    closing = true;
    service.close();
    hub.stop(); // ends the console's event streams, which would hold the API server open
    log.info('shutting down', { graceSec: cfg.shutdownGraceSec });
    clearInterval(rescanTimer);
    const t0 = Date.now();
    const closed = Promise.all([api.close(), wake.close()]);
    // close() drops the connections idle right now; keep-alive ones (Traefik pools them) that go
    // idle later would hold it open until their timeout, so drop those as they go idle too.
    const idleSweep = setInterval(() => { api.closeIdleConnections(); wake.closeIdleConnections(); }, 100);
    // In-flight wakes, API calls and an idle stop finish within the grace period; what is left is
    // cut off (the container stays as it is: the next start's rescan and the reaper take it over).
    const drained = Promise.all([closed, reaper.stop(), rollouts.close(), service.idle()]).then(() => true);
    const grace = new Promise<boolean>((r) => setTimeout(() => r(false), cfg.shutdownGraceSec * 1000).unref());
    const finished = await Promise.race([drained, grace]);
    if (finished) log.info('in-flight work finished', { ms: Date.now() - t0 });
    else log.warn('shutdown grace period over; cutting off in-flight work', { graceSec: cfg.shutdownGraceSec });
    clearInterval(idleSweep);
    api.closeAllConnections();
    wake.closeAllConnections();
    watchAbort.abort();
    db.close();
    log.info('stopped');
  };
  return { spawnerId, apiServer, wakeServer, shutdown };
}
