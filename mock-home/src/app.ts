/**
 * The home app: a signup form that asks the spawner for a new app instance and hands the browser
 * the routing cookie that makes Traefik/the spawner send "/" to that instance.
 */
import cookieParser from 'cookie-parser';
import express, { type CookieOptions, type NextFunction, type Request, type Response } from 'express';
import type { HomeConfig } from './config.js';
import { describeFailure } from './failure.js';
import { NAME_RE, nameProblem } from './names.js';
import { errorPage, instancePage, signupPage, type SignupView } from './pages.js';
import type { SpawnerClient } from './spawner-client.js';

/** Remembers which instance this browser signed up for (the routing cookie may be opaque). */
export const HOME_COOKIE = 'home_instance_name';

export type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface HomeAppDeps {
  config: HomeConfig;
  client: SpawnerClient;
  log?: Log;
}

/** We sit behind Traefik, which terminates TLS and says so in X-Forwarded-Proto. */
function isHttps(req: Request): boolean {
  const proto = req.get('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  return req.secure || proto === 'https';
}

export function createHomeApp({ config, client, log = () => {} }: HomeAppDeps): express.Express {
  const { homePath } = config;
  // The spawner names its routing cookie; learn it from deploys so GET /home can check for it.
  let routingCookieName = 'instance';
  const app = express();
  app.disable('x-powered-by');
  app.use(cookieParser());

  const html = (res: Response, status: number, body: string) =>
    void res.status(status).set('cache-control', 'no-store').type('html').send(body);

  const router = express.Router();
  router.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));

  /** The catalogue, or none when the spawner cannot list it: the form then deploys APP_IMAGE. */
  const runtimes = async () => {
    const r = await client.runtimes();
    if (!r.ok || r.value.length === 0) return [];
    // APP_IMAGE is always a choice (and the preselected one), catalogued or not.
    const own = r.value.some((x) => x.reference === config.appImage)
      ? [] : [{ reference: config.appImage, title: null, version: null, description: null, present: true }];
    return [...own, ...r.value];
  };
  const form = async (v: Omit<SignupView, 'homePath' | 'runtimes'>) =>
    signupPage({ homePath, runtimes: await runtimes(), runtime: config.appImage, ...v });

  router.get('/', async (req, res) => {
    const name: unknown = req.cookies?.[HOME_COOKIE];
    if (typeof name !== 'string' || !NAME_RE.test(name)) return html(res, 200, await form({}));
    const info = await client.getDeploy(name);
    if (!info.ok && info.problem.status === 404) {
      res.clearCookie(HOME_COOKIE, { path: homePath });
      const notice = `Your app "${name}" no longer exists. Pick a name to create a new one.`;
      return html(res, 200, await form({ notice }));
    }
    const state = info.ok ? info.value.status : `unknown (${info.problem.title})`;
    const note = req.cookies?.[routingCookieName]
      ? undefined
      : 'This browser does not carry the routing cookie for it, so "Open my app" may not reach it.';
    html(res, 200, instancePage({ name, state, note }));
  });

  router.post('/signup', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const raw: unknown = req.body?.name;
    const name = typeof raw === 'string' ? raw.trim() : '';
    const invalid = nameProblem(name);
    const picked: unknown = req.body?.runtime;
    const runtime = typeof picked === 'string' && picked !== '' ? picked : config.appImage;
    if (invalid) return html(res, 400, await form({ name, error: invalid, runtime }));
    // Only what the catalogue offers right now (the spawner checks its allowlist again anyway).
    if (runtime !== config.appImage && !(await runtimes()).some((r) => r.reference === runtime)) {
      return html(res, 400, await form({ name, error: 'Pick one of the offered runtimes.' }));
    }

    const envs = Object.keys(config.appEnvs).length > 0 ? config.appEnvs : undefined;
    const result = await client.deploy({ name, image: runtime, envs });
    if (!result.ok) {
      const p = result.problem;
      log('warn', 'deploy failed', { name, status: p.status, code: p.code, detail: p.detail });
      const { status, ...view } = describeFailure(p, name);
      return html(res, status, errorPage({ ...view, homePath, detail: p.detail, code: p.code }));
    }
    const { cookie } = result.value;
    routingCookieName = cookie.name;
    const base: CookieOptions = { httpOnly: true, sameSite: 'lax', secure: isHttps(req) };
    // Exactly as returned: express would otherwise percent-encode the value.
    res.cookie(cookie.name, cookie.value, { ...base, path: '/', encode: (v) => v });
    res.cookie(HOME_COOKIE, result.value.name, { ...base, path: homePath });
    log('info', 'deployed', { name: result.value.name, status: result.value.status });
    res.redirect(303, '/');
  });

  router.use((_req, res) =>
    html(res, 404, errorPage({ homePath, title: 'Not found', message: 'There is no such page here.' })),
  );
  app.use(homePath, router);

  // Body parser errors (oversized or malformed forms) and anything unexpected: a page, not a stack.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status ?? 500;
    if (status >= 500) log('error', 'request failed', { error: String(err) });
    const message = status < 500 ? 'The request could not be read.' : 'Something went wrong.';
    html(res, status, errorPage({ homePath, title: 'Error', message }));
  });
  return app;
}
