/**
 * Typed errors with stable codes. Every error that leaves the spawner over HTTP is one of these,
 * mapped once to application/problem+json (see api/problem.ts). Messages never carry secrets.
 */
export type ErrorCode =
  | 'invalid_json'
  | 'body_too_large'
  | 'invalid_field'
  | 'label_forbidden'
  | 'image_not_allowed'
  | 'network_not_allowed'
  | 'limit_exceeded'
  | 'unauthorized'
  | 'csrf_invalid'
  | 'forbidden_origin'
  | 'login_invalid'
  | 'rate_limited'
  | 'not_found'
  | 'conflict'
  | 'image_unavailable'
  | 'wake_failed'
  | 'wake_timeout'
  | 'over_capacity'
  | 'route_loop'
  | 'app_bad_gateway'
  | 'app_gateway_timeout'
  | 'shutting_down'
  | 'runtime_unavailable'
  | 'init_unavailable'
  | 'init_failed'
  | 'redeploy_in_progress'
  | 'redeploy_failed'
  | 'selector_empty'
  | 'volume_retained'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  invalid_json: 400,
  body_too_large: 413,
  invalid_field: 400,
  label_forbidden: 400,
  image_not_allowed: 400,
  network_not_allowed: 400,
  limit_exceeded: 400,
  unauthorized: 401,
  csrf_invalid: 403,
  forbidden_origin: 403,
  login_invalid: 401,
  rate_limited: 429,
  not_found: 404,
  conflict: 409,
  image_unavailable: 422,
  wake_failed: 502,
  wake_timeout: 503,
  over_capacity: 503,
  route_loop: 508,
  app_bad_gateway: 502,
  app_gateway_timeout: 504,
  shutting_down: 503,
  runtime_unavailable: 503,
  init_unavailable: 422,
  init_failed: 502,
  redeploy_in_progress: 409,
  redeploy_failed: 502,
  selector_empty: 422,
  volume_retained: 409,
  internal: 500,
};

export class SpawnerError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The request field at fault, as a JSON pointer-ish path (e.g. "labels.traefik.enable"). */
    readonly field?: string,
    /** Seconds a client should wait before retrying (sets Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'SpawnerError';
    this.status = STATUS[code];
  }
}

export function isSpawnerError(e: unknown): e is SpawnerError {
  return e instanceof SpawnerError;
}
