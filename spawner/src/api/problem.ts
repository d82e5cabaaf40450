/**
 * The one mapping from errors to RFC 9457 application/problem+json. SpawnerError messages are
 * written for callers and carry no secrets, so they become `detail`; anything else is a bug or an
 * outside failure whose message or stack may hold paths, hosts or tokens, so callers only ever
 * see a generic 500 `internal` (the original error goes to the optional onError hook for logs).
 */
import type { ErrorRequestHandler, Response } from 'express';
import { SpawnerError, isSpawnerError, type ErrorCode } from '../errors.js';

export const PROBLEM_TYPE_BASE = 'https://spawner.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<ErrorCode, string> = {
  invalid_json: 'Invalid JSON body',
  body_too_large: 'Request body too large',
  invalid_field: 'Invalid field',
  label_forbidden: 'Label not allowed',
  image_not_allowed: 'Image not allowed',
  network_not_allowed: 'Network not allowed',
  limit_exceeded: 'Limit exceeded',
  unauthorized: 'Unauthorized',
  csrf_invalid: 'Missing or invalid CSRF token',
  forbidden_origin: 'Not allowed from this address or origin',
  login_invalid: 'Invalid login',
  rate_limited: 'Too many requests',
  not_found: 'Not found',
  conflict: 'Conflict',
  image_unavailable: 'Image unavailable',
  wake_failed: 'Wake failed',
  wake_timeout: 'Wake timed out',
  over_capacity: 'Over capacity',
  route_loop: 'Routing loop detected',
  app_bad_gateway: 'The app failed to answer',
  app_gateway_timeout: 'The app did not answer in time',
  shutting_down: 'Shutting down',
  runtime_unavailable: 'Container runtime unavailable',
  init_unavailable: 'Instance initialization not configured',
  init_failed: 'Instance initialization failed',
  redeploy_in_progress: 'A redeploy of this instance is in progress',
  redeploy_failed: 'The new revision failed its gate',
  selector_empty: 'The selector matches no instance',
  volume_retained: 'A retained data volume has this instance name',
  internal: 'Internal error',
};

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  field?: string;
  instance?: string;
}

export interface Problem {
  status: number;
  body: ProblemBody;
  /** Seconds, for a Retry-After header. */
  retryAfter?: number;
}

/** body-parser / raw-body failures, recognised by their stable `type` strings. */
function fromBodyParser(err: unknown): SpawnerError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { type, status } = err as { type?: unknown; status?: unknown };
  if (typeof type !== 'string' || typeof status !== 'number' || status < 400 || status > 499) return undefined;
  if (type === 'entity.too.large') return new SpawnerError('body_too_large', 'the request body is too large');
  // Never echo the parser's message: Node's JSON errors quote a snippet of the body.
  if (type === 'entity.parse.failed') return new SpawnerError('invalid_json', 'the request body is not valid JSON');
  if (/^(entity|request|charset|encoding|parameters|stream)\./.test(type)) {
    return new SpawnerError('invalid_json', 'the request body could not be read as JSON');
  }
  return undefined;
}

export function toProblem(err: unknown, instance?: string): Problem {
  const e = isSpawnerError(err) ? err : fromBodyParser(err)
    ?? new SpawnerError('internal', 'An internal error occurred.');
  const body: ProblemBody = {
    type: `${PROBLEM_TYPE_BASE}${e.code}`,
    title: TITLES[e.code],
    status: e.status,
    detail: e.message,
    code: e.code,
  };
  if (e.field !== undefined && e.field !== '') body.field = e.field;
  if (instance !== undefined) body.instance = instance;
  const p: Problem = { status: e.status, body };
  if (e.retryAfter !== undefined && Number.isFinite(e.retryAfter)) p.retryAfter = Math.max(0, Math.ceil(e.retryAfter));
  return p;
}

/** Writes a problem response; usable outside the middleware (e.g. from a handler's catch). */
export function sendProblem(res: Response, err: unknown, instance?: string): Problem {
  const p = toProblem(err, instance);
  if (p.retryAfter !== undefined) res.setHeader('Retry-After', String(p.retryAfter));
  // RFC 9110: a 401 must say how to authenticate.
  if (p.body.code === 'unauthorized' && !res.getHeader('WWW-Authenticate')) res.setHeader('WWW-Authenticate', 'Bearer');
  // Errors are about this request only; never let a cache replay them.
  res.setHeader('Cache-Control', 'no-store');
  res.status(p.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(p.body));
  return p;
}

export interface ProblemMiddlewareOptions {
  /** Called for every error; unknown (500) errors are where logs want the real cause. */
  onError?: (err: unknown, problem: Problem) => void;
}

/** Express error handler; register last. `instance` is the request path without its query. */
export function createProblemMiddleware(opts: ProblemMiddlewareOptions = {}): ErrorRequestHandler {
  return (err, req, res, next) => {
    // Too late for a problem body: let express close the connection.
    if (res.headersSent) {
      next(err);
      return;
    }
    const path = (req.originalUrl || req.url || '').split('?')[0];
    const p = sendProblem(res, err, path || undefined);
    opts.onError?.(err, p);
  };
}

export const problemMiddleware: ErrorRequestHandler = createProblemMiddleware();
