/**
 * The private deploy API (port 8008). Compatible with clients of the original Go spawner
 * (POST /login, /deploy CRUD, `token:` header) and strict everywhere else: every rejection is
 * problem+json with a stable code, and validation happens before any Docker call.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Config } from '../config.js';
import type { AuthService } from '../auth/service.js';
import type { InstanceService } from '../instances/service.js';
import type { EventLog } from '../store/events.js';
import type { SpawnerMetrics } from '../metrics.js';
import { isSpawnerError, SpawnerError } from '../errors.js';
import { problemMiddleware } from './problem.js';
import { validateDeploy, validateInstanceName, validateName } from './validate.js';
import { engine as engineRead } from '../instances/deps.js';
import { openApiDocument } from './openapi.js';
import type { Waker } from '../instances/waker.js';
import { throughProxyRequest } from '../readiness/through-proxy.js';
import { consoleRouter, type ConsoleDeps } from '../console/routes.js';
import type { RuntimeEntry } from '../catalogue/catalogue.js';
import type { Initializer } from '../instances/init.js';
import type { InstanceRecord } from '../instances/types.js';
import { mountRollouts, type RolloutApiDeps } from './rollouts.js';
import type { InstanceStats } from '../instances/stats.js';
import type { Redeployer } from '../instances/redeploy.js';
import { callerOf, revisionsRouter } from './revisions-routes.js';
import { wrap } from './handler.js';

export interface ApiDeps {
  cfg: Config;
  auth: AuthService;
  service: InstanceService;
  events: EventLog;
  metrics: SpawnerMetrics;
  isClosing: () => boolean;
  /** For `POST /deploy?wait=true`: the same single-flight wake and readiness gate as port 8000. */
  waker: Pick<Waker, 'wake'>;
  probeNonce: string;
  /** The operator's console under /console (console/routes.ts); absent: not served. */
  console?: ConsoleDeps;
  /** GET /runtimes: the allowlist resolved against the engine (catalogue/catalogue.ts). */
  runtimes: () => Promise<RuntimeEntry[]>;
  /** Instance initialization; absent in tests that do not use it. */
  init?: Initializer;
  /** Fleet rollouts (/rollouts); absent: not served. */
  rollouts?: Omit<RolloutApiDeps, 'subject'>;
  /** The `stats` of GET /deploy/:nameOrId (instances/stats.ts); absent: not shown. */
  stats?: Pick<InstanceStats, 'status'>;
  /** Redeploys, revisions and rollbacks (api/revisions-routes.ts); absent: not served. */
  redeployer?: Redeployer;
}

export function createApiApp(d: ApiDeps) {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: d.cfg.maxBodyBytes, strict: false, type: () => true }));

  app.get('/healthz', (_req, res) => {
    res.status(d.isClosing() ? 503 : 200).json({ status: d.isClosing() ? 'shutting_down' : 'ok' });
  });
  app.get('/metrics', (_req, res) => { res.type('text/plain; version=0.0.4').send(d.metrics.registry.render()); });
  app.get('/openapi.json', (_req, res) => { res.json(openApiDocument()); });

  app.post('/login', wrap(async (req, res) => {
    const body = (req.body ?? {}) as { username?: unknown; password?: unknown };
    try {
      const token = await d.auth.login(body.username as string, body.password as string, req.socket.remoteAddress ?? '');
      res.json({ token });
    } catch (err) {
      // The original answered exactly this; its clients test for it.
      if (isSpawnerError(err) && err.code === 'login_invalid') {
        res.status(401).json({ message: 'login invalid' });
        return;
      }
      throw err;
    }
  }));

  const authorized = (req: Request, res: Response, next: NextFunction) => {
    res.locals.principal = d.auth.authenticate({ token: req.headers.token, authorization: req.headers.authorization });
    next();
  };
  app.use('/deploy', authorized);
  if (d.rollouts) mountRollouts(app, { ...d.rollouts, subject: (_req, res) => callerOf(res) }, authorized);

  app.get('/runtimes', authorized, wrap(async (_req, res) => {
    res.json({ runtimes: await engineRead(d.runtimes()) });
  }));

  app.post('/deploy', wrap(async (req, res) => {
    if (d.isClosing()) throw new SpawnerError('shutting_down', 'the spawner is shutting down', undefined, 5);
    const spec = validateDeploy(req.body, d.cfg, { defaultNetwork: d.cfg.network });
    const result = await d.service.deploy(spec, callerOf(res));
    const rec = d.service.resolve(spec.name);
    const probe = throughProxyRequest(d.cfg, rec, result.cookie.value, d.probeNonce);
    if (!isTrue(req.query.wait)) {
      // Init runs after the first readiness whether or not anyone waits for it (a wake joins it).
      if (spec.init) d.waker.wake(rec, probe).catch(() => undefined);
      res.status(200).json({ ...result.view, cookie: result.cookie });
      return;
    }
    // The instance exists either way; `ready` tells whether it became reachable through Traefik.
    const ready = await d.waker.wake(rec, probe).then(() => null, (err: unknown) => err);
    const view = await d.service.get(spec.name);
    // The one time the init answer is handed out unasked: to the caller who deployed and waited.
    const init = spec.init ? { init: { ...view.init, ...d.init?.view(spec.name, true) } } : {};
    res.status(200).json({
      ...view, cookie: result.cookie, ready: ready === null,
      ...(ready === null ? {} : { readyError: isSpawnerError(ready) ? ready.code : 'internal' }),
      ...init,
    });
  }));
  app.get('/deploy/:nameOrId/init', wrap((req, res) => {
    res.json(initView(d, d.service.resolve(param(req)), true));
  }));
  app.post('/deploy/:nameOrId/init', wrap(async (req, res) => {
    const rec = d.service.resolve(param(req));
    if (initView(d, rec, false).status === 'done') {
      throw new SpawnerError('conflict', `instance ${rec.name} is already initialized`, 'nameOrId');
    }
    // A wake: starts the container if init failed (which stopped it), gate, then init again.
    const failed = await d.waker.wake(rec).then(() => null, (err: unknown) => err);
    if (failed && !(isSpawnerError(failed) && failed.code === 'init_failed')) throw failed;
    res.json(initView(d, rec, false));
  }));
  if (d.redeployer) app.use('/deploy', revisionsRouter({ cfg: d.cfg, service: d.service, redeployer: d.redeployer, isClosing: d.isClosing }));
  app.get('/deploy', wrap(async (_req, res) => {
    res.json({ instances: await d.service.list() });
  }));
  app.get('/deploy/:nameOrId', wrap(async (req, res) => {
    const view = await d.service.get(param(req));
    // Only here, not in the list: the wake figures cost a few indexed queries per instance.
    const startedAt = view.id && view.status === 'running' ? d.service.states.get(view.id)?.startedAt : undefined;
    res.json(d.stats ? { ...view, stats: d.stats.status(d.service.resolve(view.name), startedAt) } : view);
  }));
  app.delete('/deploy/:nameOrId/identity', wrap((req, res) => {
    const rec = d.service.resolve(param(req));
    // Revoked at once: GET /.spawner/self refuses it from now on. A redeploy issues a new one.
    res.json({ name: rec.name, identity: 'revoked', changed: d.service.revokeIdentity(rec.name) });
  }));
  app.get('/deploy/:nameOrId/events', wrap((req, res) => {
    const rec = d.service.resolve(param(req));
    res.json({ events: d.events.list({ instance: rec.name, limit: 200 }) });
  }));
  const start = wrap(async (req, res) => {
    const rec = d.service.resolve(param(req));
    // An instance with init starts like a wake: gate, then init when due, else it stays stopped.
    if (d.init?.view(rec.name, false)) await d.waker.wake(rec);
    res.json(await d.service.start(rec.name));
  });
  app.put('/deploy/:nameOrId', start);
  app.post('/deploy/:nameOrId/start', start);
  app.post('/deploy/:nameOrId/stop', wrap(async (req, res) => {
    res.json(await d.service.stop(param(req), 'api'));
  }));
  app.delete('/deploy/:nameOrId', wrap(async (req, res) => {
    const view = await d.service.get(param(req));
    // The data volume is kept (retained) unless asked: ?purge=true removes it with the instance.
    const volume = await d.service.remove(view.name, isTrue(req.query.purge));
    res.json({ id: view.id, name: view.name, status: 'removed', ...(volume ? { volume } : {}) });
  }));
  app.get('/volumes', authorized, wrap(async (_req, res) => {
    res.json({ volumes: await engineRead(d.service.volumes.list()) });
  }));
  app.delete('/volumes/:name', authorized, wrap(async (req, res) => {
    const name = validateInstanceName(req.params.name, 'name');
    await d.service.volumes.removeRetained(name);
    res.json({ instance: name, status: 'removed' });
  }));

  if (d.console) app.use('/console', consoleRouter(d.console));

  app.use((_req, _res, next) => next(new SpawnerError('not_found', 'no such route')));
  // The router decodes :nameOrId before param() sees it; a bad %-escape is the caller's fault, not a 500.
  app.use((err: unknown, _req: Request, _res: Response, next: NextFunction) => {
    next(err instanceof URIError ? new SpawnerError('invalid_field', 'the path is not valid percent-encoding', 'nameOrId') : err);
  });
  app.use(problemMiddleware);
  return app;
}

const isTrue = (v: unknown) => v === 'true' || v === '1';

/** Path ids are names or container ids; anything else (../, %2e%2e, unicode) is refused early. */
function param(req: Request): string {
  return validateName(req.params.nameOrId, 'nameOrId');
}

function initView(d: ApiDeps, rec: InstanceRecord, withResult: boolean) {
  const v = d.init?.view(rec.name, withResult);
  if (!v) throw new SpawnerError('not_found', `instance ${rec.name} was deployed without init`, 'nameOrId');
  return v;
}
