/**
 * Loop guard: when the instance is already up but the proxy still routes the client back to us
 * (route lag), count the rounds in a short-lived cookie; the handler backs off and, after a few
 * rounds, answers with a clear error instead of redirecting forever.
 */
import type { Request, Response } from 'express';

const COOKIE = 'spawner_wake_round';
const TTL_SEC = 30;

/** Round number for this arrival (0 = first). A wake in flight means progress, not a loop. */
export function loopRound(req: Request, name: string, wakeInFlight: boolean): number {
  if (wakeInFlight) return 0;
  const raw = (req.cookies as Record<string, unknown> | undefined)?.[COOKIE];
  if (typeof raw !== 'string') return 0;
  const m = /^([a-z0-9-]{1,63}):(\d{1,2})$/.exec(raw);
  return m && m[1] === name ? Number(m[2]) : 0;
}

export function setLoopCookie(req: Request, res: Response, name: string, round: number): void {
  const https = req.headers['x-forwarded-proto'] === 'https';
  res.cookie(COOKIE, `${name}:${round}`, {
    maxAge: TTL_SEC * 1000, httpOnly: true, sameSite: 'lax', path: '/', secure: https,
  });
}
