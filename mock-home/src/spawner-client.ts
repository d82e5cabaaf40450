/**
 * Client for the spawner's private deploy API. Never throws for HTTP or network trouble: every
 * outcome is a typed Result, and failures are normalised to the API's problem+json shape so the
 * pages can show one kind of error.
 */

export interface DeployRequest {
  name: string;
  image: string;
  envs?: Record<string, string>;
  network?: string;
  port?: number;
}

export interface RoutingCookie {
  name: string;
  value: string;
}

export interface DeployResult {
  id: string;
  name: string;
  status: string;
  cookie: RoutingCookie;
}

export interface InstanceInfo {
  id: string;
  name: string;
  image: string;
  status: string;
}

/** One image of the spawner's catalogue (GET /runtimes), as the sign-up form offers it. */
export interface RuntimeOption {
  reference: string;
  title: string | null;
  version: string | null;
  description: string | null;
  present: boolean;
}

/** RFC 9457 problem details as the spawner sends them; code is the stable machine-readable bit. */
export interface Problem {
  status: number;
  title: string;
  detail?: string;
  code?: string;
  field?: string;
  type?: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; problem: Problem };

export interface SpawnerClient {
  deploy(req: DeployRequest): Promise<Result<DeployResult>>;
  getDeploy(name: string): Promise<Result<InstanceInfo>>;
  runtimes(): Promise<Result<RuntimeOption[]>>;
}

export interface ClientOptions {
  baseUrl: string;
  token?: string;
  timeoutMs: number;
}

// RFC 6265 token / cookie-octets: what res.cookie() can set without re-encoding the value.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

const str = (v: unknown): v is string => typeof v === 'string';
const rec = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

function badResponse(detail: string): Problem {
  return { status: 502, title: 'Unexpected answer from the spawner', code: 'bad_response', detail };
}

function toProblem(status: number, body: unknown, text: string): Problem {
  const b = rec(body);
  return {
    status,
    title: str(b.title) ? b.title : `Spawner answered ${status}`,
    // Non-JSON error bodies (a proxy's HTML page, say) still say something, briefly.
    detail: str(b.detail) ? b.detail : text.slice(0, 300) || undefined,
    code: str(b.code) ? b.code : undefined,
    field: str(b.field) ? b.field : undefined,
    type: str(b.type) ? b.type : undefined,
  };
}

function parseDeploy(body: unknown): Result<DeployResult> {
  const b = rec(body);
  const c = rec(b.cookie);
  if (!str(b.id) || !str(b.name) || !str(b.status) || !str(c.name) || !str(c.value)) {
    return { ok: false, problem: badResponse('deploy response lacks id, name, status or cookie') };
  }
  if (!COOKIE_NAME.test(c.name) || !COOKIE_VALUE.test(c.value)) {
    return { ok: false, problem: badResponse('deploy response has an unusable routing cookie') };
  }
  const value = { id: b.id, name: b.name, status: b.status, cookie: { name: c.name, value: c.value } };
  return { ok: true, value };
}

function parseInstance(body: unknown): Result<InstanceInfo> {
  const b = rec(body);
  if (!str(b.name) || !str(b.status)) {
    return { ok: false, problem: badResponse('instance response lacks name or status') };
  }
  const value = { id: str(b.id) ? b.id : '', name: b.name, image: str(b.image) ? b.image : '', status: b.status };
  return { ok: true, value };
}

const strOrNull = (v: unknown): string | null => (str(v) ? v : null);

function parseRuntimes(body: unknown): Result<RuntimeOption[]> {
  const list = rec(body).runtimes;
  if (!Array.isArray(list)) return { ok: false, problem: badResponse('runtimes response lacks runtimes') };
  const value = list.map(rec).filter((r) => str(r.reference)).map((r) => ({
    reference: r.reference as string, title: strOrNull(r.title), version: strOrNull(r.version),
    description: strOrNull(r.description), present: r.present === true,
  }));
  return { ok: true, value };
}

export function createSpawnerClient(opts: ClientOptions): SpawnerClient {
  const base = opts.baseUrl.replace(/\/+$/, '');

  async function call<T>(path: string, init: RequestInit, parse: (b: unknown) => Result<T>): Promise<Result<T>> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (opts.token) headers.token = opts.token;
    let res: Response;
    let text: string;
    try {
      res = await fetch(base + path, { ...init, headers, signal: AbortSignal.timeout(opts.timeoutMs) });
      text = await res.text();
    } catch (err) {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      const problem: Problem = timedOut
        ? { status: 504, title: 'Spawner did not answer in time', code: 'spawner_timeout' }
        : { status: 502, title: 'Spawner unreachable', code: 'spawner_unreachable' };
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : '';
      return { ok: false, problem: { ...problem, detail: cause || (err as Error).message } };
    }
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!res.ok) return { ok: false, problem: toProblem(res.status, body, text) };
    return body === undefined ? { ok: false, problem: badResponse('response is not JSON') } : parse(body);
  }

  return {
    deploy: (req) => call('/deploy', { method: 'POST', body: JSON.stringify(req) }, parseDeploy),
    getDeploy: (name) => call(`/deploy/${encodeURIComponent(name)}`, { method: 'GET' }, parseInstance),
    runtimes: () => call('/runtimes', { method: 'GET' }, parseRuntimes),
  };
}
