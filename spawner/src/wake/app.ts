/**
 * The public wake listener (port 8000), behind Traefik's lowest-priority catch-all router.
 * Everything that reaches it is hostile until identify() says otherwise.
 */
import express, { type Request, type Response } from 'express';
import cookieParser from 'cookie-parser';
import type { Config } from '../config.js';
import type { InstanceStore } from '../store/instances.js';
import type { Waker, WakeOutcome } from '../instances/waker.js';
import type { InstanceService } from '../instances/service.js';
import { RECOVER_PATH } from '../traefik/labels.js';
import { errorMessage, type Logger } from '../log.js';
import { isSpawnerError, SpawnerError } from '../errors.js';
import { toProblem } from '../api/problem.js';
import { WAKE_MARKER_HEADER } from '../readiness/probes.js';
import { identify, type Identified } from './identify.js';
import { isBrowserNavigation, isPrefetch, safeTarget } from './target.js';
import { errorPage, STREAM_PATH, waitingPage } from './page.js';
import { loopRound, setLoopCookie } from './loop-guard.js';
import { streamWake } from './stream.js';
import { probeRequest } from './probe-request.js';
import { APP_ERROR_PATH, originalRequest, planRecovery, recoveryStatus, unstrip } from './recover.js';
import { self, SELF_PATH, type SelfDeps } from './self.js';

export interface WakeAppDeps {
  cfg: Config;
  instances: InstanceStore;
  waker: Waker;
  /** Locks (is a stop/wake of ours in progress?) and ownership-checked inspect, for recovery. */
  service: Pick<InstanceService, 'locks' | 'owned'>;
  log?: Logger;
  now?: () => number;
  /** Random per process: a probe through Traefik that falls through to us is answered at once. */
  probeNonce: string;
  isClosing: () => boolean;
  /** GET /.spawner/self (wake/self.ts); absent: the path is answered 404 like any unknown one. */
  self?: SelfDeps;
}

export function createWakeApp(d: WakeAppDeps) {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(cookieParser());
  app.use((req, res, next) => {
    res.setHeader(WAKE_MARKER_HEADER, '1');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.get('/.spawner/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  app.get(STREAM_PATH, (req, res) => {
    const who = identify(d.cfg, d.instances, reqInfo(req));
    if (!who) return void sendProblem(res, new SpawnerError('unauthorized', 'no instance for this request'));
    streamWake(res, d.waker.wake(who.rec, probeRequest(d, req, who)));
  });
  app.get(RECOVER_PATH, (req, res) => {
    recover(d, req, res).catch((err: unknown) => { if (!res.headersSent) sendProblem(res, err); });
  });
  app.get(APP_ERROR_PATH, (req, res) => { appError(req, res); });
  app.get(SELF_PATH, (req, res) => {
    if (!d.self) return void sendProblem(res, new SpawnerError('not_found', 'no such route'));
    self(d.self, req, res, sendProblem).catch((err: unknown) => { if (!res.headersSent) sendProblem(res, err); });
  });
  // Not app.all('/{*rest}'): that decodes a param we never use, and a bad %-escape (GET /%) then
  // reached express's default error page (a stack trace unless NODE_ENV=production).
  app.use((req, res) => { void handle(d, req, res); });
  return app;
}

async function handle(d: WakeAppDeps, req: Request, res: Response): Promise<void> {
  if (req.headers['x-spawner-probe'] === d.probeNonce) {
    res.status(503).setHeader('Retry-After', '1').end();
    return;
  }
  const browser = isBrowserNavigation(req.method, req.headers.accept);
  const who = identify(d.cfg, d.instances, reqInfo(req));
  if (!who) return refuse(d, req, res, browser);
  if (req.method === 'HEAD' || isPrefetch(req.headers)) {
    res.status(503).setHeader('Retry-After', '2').end(); // never wake for these
    return;
  }
  if (d.isClosing()) return sendProblem(res, new SpawnerError('shutting_down', 'the spawner is shutting down', undefined, 5));
  const target = safeTarget(req.originalUrl);
  const round = loopRound(req, who.rec.name, d.waker.inFlight(who.rec.name));
  if (round > d.cfg.loopGuardRounds) {
    return sendError(res, browser, new SpawnerError('route_loop', 'the app is awake but the proxy keeps sending you back here; try again in a minute'));
  }
  const wake = d.waker.wake(who.rec, probeRequest(d, req, who));
  if (browser) {
    wake.catch(() => undefined); // the page's event stream reports the outcome
    res.status(200).type('html').send(waitingPage(target, 2));
    return;
  }
  try {
    const outcome = await wake;
    if (round > 0) await new Promise((r) => setTimeout(r, 250 * round)); // proxy lag: back off
    setLoopCookie(req, res, who.rec.name, round + 1);
    res.setHeader('Server-Timing', serverTiming(outcome));
    res.redirect(307, target);
  } catch (err) {
    sendError(res, false, err);
  }
}

/** Traefik's errors middleware sends gateway errors of instance routers here (see recover.ts). */
async function recover(d: WakeAppDeps, req: Request, res: Response): Promise<void> {
  // The gate's own probe through Traefik met a gateway error: answer at once. Waking here would
  // join the very wake that waits for this probe.
  if (req.headers['x-spawner-probe'] === d.probeNonce) {
    res.redirect(307, '/');
    return;
  }
  const parsed = originalRequest(req.query.url, req.headers.host);
  if (!parsed) return sendProblem(res, new SpawnerError('invalid_field', 'url must be an http(s) URL on this request\'s host', 'url'));
  const orig = unstrip(parsed, req.headers['x-forwarded-prefix'], d.cfg.pathPrefix);
  const status = recoveryStatus(req.query.status);
  const target = safeTarget(orig.target);
  const toAppError = () => res.redirect(307, `${APP_ERROR_PATH}?status=${status}&to=${encodeURIComponent(target)}`);
  const who = identify(d.cfg, d.instances, { host: req.headers.host, path: orig.path, cookies: (req.cookies ?? {}) as Record<string, unknown> });
  // Unknown (deleted meanwhile, or not this client's), a prefetch, or shutting down: no wake.
  if (!who || isPrefetch(req.headers) || d.isClosing()) return toAppError();
  const name = who.rec.name;
  const round = loopRound(req, name, d.waker.inFlight(name));
  if (round > d.cfg.loopGuardRounds) return toAppError();
  const info = who.rec.containerId ? await d.service.owned(who.rec.containerId).catch(() => null) : null;
  const plan = planRecovery({
    busy: d.service.locks.isLocked(name) || d.waker.inFlight(name),
    running: info ? info.state === 'running' : null,
    startedAt: info?.startedAt,
    now: (d.now ?? Date.now)(),
  });
  d.log?.info('recover', { instance: name, status, plan, round });
  if (plan === 'app-error') return toAppError();
  try {
    await d.waker.wake(who.rec, probeRequest(d, req, who));
  } catch (err) {
    // Back to the URL anyway: with the route gone it reaches the listener, which reports it.
    d.log?.warn('recover: wake failed', { instance: name, error: errorMessage(err) });
  }
  if (round > 0) await new Promise((r) => setTimeout(r, 250 * round));
  setLoopCookie(req, res, name, round + 1);
  res.redirect(307, target);
}

/** Where recovery sends the client when the app itself answered 502/504: that status, our body. */
function appError(req: Request, res: Response): void {
  const status = recoveryStatus(req.query.status);
  const retry = safeTarget(typeof req.query.to === 'string' ? req.query.to : '/');
  const err = status === 504
    ? new SpawnerError('app_gateway_timeout', 'the app did not answer this request in time (gateway timeout)')
    : new SpawnerError('app_bad_gateway', 'the app could not answer this request (bad gateway)');
  if (isBrowserNavigation(req.method, req.headers.accept)) {
    res.status(err.status).type('html').send(errorPage('Your app did not answer', err.message, retry));
    return;
  }
  sendProblem(res, err);
}

function refuse(d: WakeAppDeps, req: Request, res: Response, browser: boolean): void {
  // Already at the home URL: its app is down or not routed, and it fell through to us. Sending the
  // browser there again would loop until it gives up (ERR_TOO_MANY_REDIRECTS).
  if (browser && !isHomeRequest(d.cfg.homeUrl, req)) {
    res.redirect(302, d.cfg.homeUrl);
    return;
  }
  if (browser) {
    res.status(404).type('html').send(errorPage('Page not available', 'The home page cannot be reached right now; try again in a minute.'));
    return;
  }
  sendProblem(res, new SpawnerError('unauthorized', 'no instance for this request'));
}

function isHomeRequest(homeUrl: string, req: Request): boolean {
  let home: URL;
  try {
    home = new URL(homeUrl, 'http://home.invalid');
  } catch {
    return false;
  }
  if (home.host !== 'home.invalid' && home.host !== (req.headers.host ?? '').toLowerCase()) return false;
  const trim = (p: string) => p.replace(/\/+$/, '');
  return trim(req.path) === trim(home.pathname);
}

function sendError(res: Response, browser: boolean, err: unknown): void {
  if (browser && isSpawnerError(err)) {
    res.status(err.status).type('html').send(errorPage('Your app could not be reached', err.message));
    return;
  }
  sendProblem(res, err);
}

function sendProblem(res: Response, err: unknown): void {
  const p = toProblem(err);
  if (isSpawnerError(err) && err.retryAfter !== undefined) res.setHeader('Retry-After', String(err.retryAfter));
  res.status(p.status).type('application/problem+json').send(JSON.stringify(p.body));
}

function reqInfo(req: Request) {
  return { host: req.headers.host, path: req.path, cookies: (req.cookies ?? {}) as Record<string, unknown> };
}

export function serverTiming(o: WakeOutcome): string {
  const t = o.timings;
  const init: [string, number][] = t.init === undefined ? [] : [['init', t.init]];
  return [['start', t.start], ['health', t.health], ['route', t.route], ['probe', t.probe], ...init, ['total', t.total]]
    .map(([k, v]) => `${k};dur=${v}`)
    .join(', ');
}

export type { Identified };
