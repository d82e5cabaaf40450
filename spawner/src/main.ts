/** Wiring only: build every part from the config, start both listeners, stop cleanly on SIGTERM. */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Config } from './config.js';
import { createLogger, errorMessage, type Logger } from './log.js';
import { createMetrics, Gauge } from './metrics.js';
import { openDatabase, getOrCreateSpawnerId } from './store/db.js';
import { InstanceStore } from './store/instances.js';
import { EventLog } from './store/events.js';
import { TokenStore } from './store/tokens.js';
import { AuthService } from './auth/service.js';
import { LoginRateLimiter } from './auth/rate-limit.js';
import { loadUsersFile, UsersFileMissingError } from './auth/users.js';
import { DockerRuntime } from './runtime/docker.js';
import { healthcheckPlan } from './runtime/docker-mapping.js';
import type { ContainerRuntime } from './runtime/types.js';
import { TraefikApi } from './traefik/api.js';
import { ownershipLabels } from './traefik/labels.js';
import { HealthWatcher } from './readiness/health.js';
import { InstanceService } from './instances/service.js';
import { Waker } from './instances/waker.js';
import { Reconciler } from './instances/reconcile.js';
import { IdleReaper } from './reaper/reaper.js';
import { createApiApp } from './api/app.js';
import { createWakeApp } from './wake/app.js';

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

export async function startSpawner(cfg: Config, runtime: ContainerRuntime = new DockerRuntime()): Promise<Running> {
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
  const traefik = new TraefikApi(cfg.traefikApiUrl);
  const deps = { cfg, runtime, instances, events, spawnerId, log, metrics, now, traefik };
  const service = new InstanceService(deps);
  const health = new HealthWatcher(runtime);
  const waker = new Waker(deps, service, { cfg, runtime, health, traefik, now });
  const reconciler = new Reconciler(deps, service);
  metrics.registry.add(new Gauge('spawner_instances', 'Registered instances by last known container state', () => service.instancesByState()));

  await runtime.ping().catch((err) => log.warn('docker engine not answering yet', { error: errorMessage(err) }));
  // Which engine-dependent path creates take (the same decision DockerRuntime makes on create).
  await runtime.apiVersion().then(
    (apiVersion) => {
      const plan = healthcheckPlan(apiVersion);
      log.info('docker engine', { apiVersion, healthStartInterval: plan.startInterval, path: plan.reason });
    },
    (err) => log.warn('docker engine API version unknown yet', { error: errorMessage(err) }),
  );
  const rescan = () => reconciler.rescan().catch((err) => log.warn('rescan failed', { error: errorMessage(err) }));
  const watchAbort = new AbortController();
  runtime.watch(ownershipLabels(spawnerId), (ev) => {
    health.onEvent(ev);
    service.states.apply(ev);
    reconciler.onEvent(ev);
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
  await rescan();
  const rescanTimer = setInterval(() => { void rescan(); }, cfg.rescanSec * 1000);
  rescanTimer.unref();
  const reaper = new IdleReaper({ cfg, spawnerId, runtime, instances, service, traefik, log, now });
  reaper.start();

  let closing = false;
  const isClosing = () => closing;
  const probeNonce = randomBytes(16).toString('hex');
  const apiServer = createApiApp({ cfg, auth, service, events, metrics, isClosing, waker, probeNonce }).listen(cfg.apiPort, cfg.apiHost);
  const wakeServer = createWakeApp({ cfg, instances, waker, service, log, now, probeNonce, isClosing }).listen(cfg.wakePort, cfg.wakeHost);
  await Promise.all([once(apiServer, 'listening'), once(wakeServer, 'listening')]);
  log.info('spawner started', { spawnerId, apiPort: cfg.apiPort, wakePort: cfg.wakePort, auth: users ? 'enabled' : 'disabled' });

  const shutdown = async () => {
    if (closing) return;
    closing = true;
    service.close();
    log.info('shutting down', { graceSec: cfg.shutdownGraceSec });
    clearInterval(rescanTimer);
    const t0 = Date.now();
    const closed = Promise.all([apiServer, wakeServer].map((s) => new Promise((r) => s.close(r))));
    // close() drops the connections idle right now; keep-alive ones (Traefik pools them) that go
    // idle later would hold it open until their timeout, so drop those as they go idle too.
    const idleSweep = setInterval(() => { apiServer.closeIdleConnections(); wakeServer.closeIdleConnections(); }, 100);
    // In-flight wakes, API calls and an idle stop finish within the grace period; what is left is
    // cut off (the container stays as it is: the next start's rescan and the reaper take it over).
    const drained = Promise.all([closed, reaper.stop(), service.idle()]).then(() => true);
    const grace = new Promise<boolean>((r) => setTimeout(() => r(false), cfg.shutdownGraceSec * 1000).unref());
    const finished = await Promise.race([drained, grace]);
    if (finished) log.info('in-flight work finished', { ms: Date.now() - t0 });
    else log.warn('shutdown grace period over; cutting off in-flight work', { graceSec: cfg.shutdownGraceSec });
    clearInterval(idleSweep);
    apiServer.closeAllConnections();
    wakeServer.closeAllConnections();
    watchAbort.abort();
    db.close();
    log.info('stopped');
  };
  return { spawnerId, apiServer, wakeServer, shutdown };
}
