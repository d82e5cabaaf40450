/**
 * POST /init: what the spawner calls once the app is ready. The app keeps the credentials it is
 * given (as a real app would create its login from them) and answers with what its user needs
 * (the login), so the spawner has something secret to seal and hand back. Same Idempotency-Key:
 * the same answer again. INIT_FAIL makes it misbehave in the ways the spawner must survive.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Timers } from './idle.js';

export type InitFail = '' | '500' | 'huge' | 'invalid' | 'hang';
export const INIT_FAILS: readonly InitFail[] = ['', '500', 'huge', 'invalid', 'hang'];

export interface InitOptions {
  fail: InitFail;
  /** Answer this long after the request (a slow initialization). */
  delayMs: number;
  timers: Timers;
}

/** What GET / shows about initialization: never the password. */
export interface InitSummary {
  initialized: boolean;
  username: string | null;
  idempotencyKey: string | null;
  requests: number;
  payload: unknown;
  at: string | null;
}

const MAX_BODY = 64 * 1024;

export function createInit(opts: InitOptions) {
  let stored: { username: string; password: string; key: string; payload: unknown; at: string; answer: string } | null = null;
  let requests = 0;

  function summary(): InitSummary {
    return {
      initialized: stored !== null, username: stored?.username ?? null, idempotencyKey: stored?.key ?? null,
      requests, payload: stored?.payload ?? null, at: stored?.at ?? null,
    };
  }

  function reply(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  function answer(req: IncomingMessage, res: ServerResponse, raw: string): void {
    if (opts.fail === 'hang') return; // never answers: the spawner's deadline must end it
    if (opts.fail === '500') return reply(res, 500, '{"error":"init exploded"}');
    if (opts.fail === 'invalid') return reply(res, 200, 'this is not JSON');
    if (opts.fail === 'huge') return reply(res, 200, JSON.stringify({ blob: 'x'.repeat(2 * 1024 * 1024) }));
    let body: { credentials?: { username?: unknown; password?: unknown }; payload?: unknown };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      return reply(res, 400, '{"error":"body is not JSON"}');
    }
    const { username, password } = body.credentials ?? {};
    if (typeof username !== 'string' || typeof password !== 'string') return reply(res, 400, '{"error":"credentials missing"}');
    const key = String(req.headers['idempotency-key'] ?? '');
    if (stored && stored.key === key) return reply(res, 200, stored.answer);
    const at = new Date(opts.timers.now()).toISOString();
    const text = JSON.stringify({ login: { username, password }, initializedAt: at });
    stored = { username, password, key, payload: body.payload ?? null, at, answer: text };
    reply(res, 200, text);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST') return reply(res, 405, '{"error":"POST only"}');
    requests++;
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { if (raw.length < MAX_BODY) raw += c; });
    req.on('end', () => {
      if (opts.delayMs <= 0) return answer(req, res, raw);
      const h = opts.timers.setTimeout(() => !res.destroyed && answer(req, res, raw), opts.delayMs);
      res.on('close', () => opts.timers.clearTimeout(h));
    });
  }

  return { handle, summary };
}
