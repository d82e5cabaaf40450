/** Server-Sent Events for the waiting page: one `ready` or `failed` event, then the stream ends. */
import type { Response } from 'express';
import type { WakeOutcome } from '../instances/waker.js';
import { toProblem } from '../api/problem.js';

export function streamWake(res: Response, wake: Promise<WakeOutcome>): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.write(': waking\n\n');
  const keepAlive = setInterval(() => res.write(': tick\n\n'), 10_000);
  let closed = false;
  res.on('close', () => { closed = true; clearInterval(keepAlive); });
  wake.then(
    () => {
      if (!closed) res.end('event: ready\ndata: ok\n\n');
    },
    (err: unknown) => {
      const detail = String(toProblem(err).body.detail ?? 'error').replace(/[\r\n]/g, ' ');
      if (!closed) res.end(`event: failed\ndata: ${detail}\n\n`);
    },
  ).finally(() => clearInterval(keepAlive));
}
