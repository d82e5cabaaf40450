/**
 * The operator's console under /console on the private API port (8008): the page, its assets,
 * and a small JSON + SSE API behind a session cookie. Never mounted on the wake listener (8000),
 * so Traefik's entrypoint cannot reach it; requests from an instance's own address are refused
 * too (on a shared network an instance could otherwise reach port 8008).
 * Every state-changing request needs the session AND its CSRF token (and, when the browser sends
 * one, our own Origin); refusals are problem+json with stable codes.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response } from 'express';
import { SpawnerError } from '../errors.js';
import type { AuthService, Principal } from '../auth/service.js';
import type { InstanceService } from '../instances/service.js';
import { validateName } from '../api/validate.js';
import type { ConsoleHub } from './hub.js';
import { CONSOLE_CSS, CONSOLE_HTML, CONSOLE_ICON } from './page.js';
import { CSRF_HEADER, clearedSessionCookie, csrfFor, csrfValid, sameOrigin, sessionCookie, sessionFromCookie } from './session.js';
import { wrap } from '../api/handler.js';

export interface ConsoleDeps {
  auth: Pick<AuthService, 'login' | 'session' | 'logout'>;
  service: Pick<InstanceService, 'start' | 'stop' | 'remove' | 'get'>;
  hub: ConsoleHub;
  tokenTtlSec: number;
  /** True when `ip` is the address of one of our instance containers. */
  isInstanceAddress: (ip: string) => Promise<boolean>;
  /** Directory of the compiled browser modules (dist/console/web). */
  assetsDir?: string;
  /** SSE keep-alive period; default 15 s. */
  keepAliveMs?: number;
}

export const CONSOLE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const DEFAULT_ASSETS = fileURLToPath(new URL('./web/', import.meta.url));
const ASSET_RE = /^[a-z]+\.js$/;

interface SessionLocals { principal: Principal; token: string }
const session = (res: Response) => res.locals as SessionLocals;

export function consoleRouter(d: ConsoleDeps): express.Router {
  const r = express.Router();
  const assets = d.assetsDir ?? DEFAULT_ASSETS;

  r.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  r.use((req, _res, next) => {
    const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    d.isInstanceAddress(ip).then((inside) => {
      next(inside ? new SpawnerError('forbidden_origin', 'the console is not reachable from inside an instance') : undefined);
    }, next);
  });

  r.get(['/', ''], (_req, res) => { res.type('html').send(CONSOLE_HTML); });
  r.get('/assets/console.css', (_req, res) => { res.type('css').send(CONSOLE_CSS); });
  r.get('/assets/icon.svg', (_req, res) => { res.type('svg').send(CONSOLE_ICON); });
  r.get('/assets/:file', (req, res, next) => {
    const file = String(req.params.file);
    if (!ASSET_RE.test(file) || !existsSync(`${assets}${file}`)) { next(new SpawnerError('not_found', 'no such asset')); return; }
    res.sendFile(file, { root: assets, headers: { 'Content-Type': 'text/javascript; charset=utf-8' } });
  });

  // Login: no session yet, so no CSRF token; a cross-site form cannot send JSON without a
  // preflight (which we never grant), and a browser's Origin must be ours.
  r.post('/api/login', wrap(async (req, res) => {
    guardOrigin(req);
    if (!req.is('application/json')) throw new SpawnerError('invalid_json', 'send the login as application/json');
    const body = (req.body ?? {}) as { username?: unknown; password?: unknown };
    let token: string;
    try {
      token = await d.auth.login(body.username as string, body.password as string, req.socket.remoteAddress ?? '');
    } catch (err) {
      if (err instanceof SpawnerError && err.code === 'login_invalid') throw new SpawnerError('unauthorized', 'login invalid');
      throw err;
    }
    const p = d.auth.session(token);
    if (!p) throw new SpawnerError('unauthorized', 'login invalid');
    res.setHeader('Set-Cookie', sessionCookie(token, { secure: req.secure, maxAgeSec: d.tokenTtlSec }));
    res.json({ user: p.subject, csrf: csrfFor(token) });
  }));

  r.use('/api', (req, res, next) => {
    const token = sessionFromCookie(req.headers.cookie);
    const principal = token ? d.auth.session(token) : null;
    if (!token || !principal) { next(new SpawnerError('unauthorized', 'sign in to the console first')); return; }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      guardOrigin(req);
      if (!csrfValid(token, req.headers[CSRF_HEADER])) { next(new SpawnerError('csrf_invalid', `missing or wrong ${CSRF_HEADER} header`)); return; }
    }
    Object.assign(res.locals, { principal, token } satisfies SessionLocals);
    next();
  });

  r.get('/api/me', (_req, res) => { res.json({ user: session(res).principal.subject, csrf: csrfFor(session(res).token) }); });
  r.post('/api/logout', (req, res) => {
    d.auth.logout(session(res).token);
    res.setHeader('Set-Cookie', clearedSessionCookie(req.secure));
    res.status(204).end();
  });
  r.get('/api/instances', wrap(async (_req, res) => { res.json({ instances: await d.hub.snapshot() }); }));
  r.get('/api/fleet', (_req, res) => { res.json(d.hub.fleet()); });
  r.get('/api/instances/:name', wrap(async (req, res) => {
    const detail = await d.hub.detail(validateName(req.params.name, 'name'));
    if (!detail) throw new SpawnerError('not_found', 'no such instance', 'name');
    res.json(detail);
  }));
  r.post('/api/instances/:name/start', wrap(async (req, res) => { res.json(await d.service.start(validateName(req.params.name, 'name'))); }));
  r.post('/api/instances/:name/stop', wrap(async (req, res) => { res.json(await d.service.stop(validateName(req.params.name, 'name'), 'api')); }));
  r.delete('/api/instances/:name', wrap(async (req, res) => {
    const name = validateName(req.params.name, 'name');
    await d.service.remove(name);
    res.json({ name, status: 'removed' });
  }));
  r.get('/api/stream', wrap((req, res) => stream(d, req, res)));
  return r;
}

function guardOrigin(req: Request): void {
  const h = { origin: str(req.headers.origin), host: str(req.headers.host), secFetchSite: str(req.headers['sec-fetch-site']) };
  if (!sameOrigin(h, req.protocol)) throw new SpawnerError('csrf_invalid', 'cross-origin requests are refused');
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Server-Sent Events: snapshot, then pushed changes; ends when the session does. */
async function stream(d: ConsoleDeps, req: Request, res: Response): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
  res.write('retry: 2000\n\n');
  const { token } = session(res);
  const send = (event: string, data: unknown) => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    if (event === 'bye') res.end();
  };
  const unsubscribe = await d.hub.subscribe(send);
  const keepAlive = setInterval(() => {
    if (!d.auth.session(token)) { unsubscribe(); res.end(); return; }
    res.write(': keep-alive\n\n');
  }, d.keepAliveMs ?? 15_000);
  keepAlive.unref();
  req.on('close', () => { clearInterval(keepAlive); unsubscribe(); });
}
