/**
 * The mock app's request handler: echoes who answered and what it received, so end-to-end tests
 * can see which container served a request and that method, path and body survived the proxy.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { IdleTracker, realTimers, type Timers } from './idle.js';

/** Bodies are echoed up to this many bytes; bodyLength still counts all of them. */
export const MAX_ECHO_BYTES = 64 * 1024;
const TICK_MS = 1_000;

export interface HostInfo {
  hostname: string;
  ips: string[];
}

export interface MockAppOptions {
  /** Idle shutdown window in ms; 0 disables. */
  idleMs: number;
  /** Called once when the app has been idle for idleMs. */
  onIdle: () => void;
  /** Artificial latency of /status, to test slow health checks. */
  statusDelayMs?: number;
  connstr?: string | null;
  timers?: Timers;
  hostInfo?: () => HostInfo;
}

export interface MockApp {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  idle: IdleTracker;
}

/** Non-internal addresses, read per request: a container can be attached to more networks later. */
export function currentHostInfo(): HostInfo {
  const ips = Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => !a.internal)
    .map((a) => a.address);
  return { hostname: hostname(), ips };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export function createMockApp(opts: MockAppOptions): MockApp {
  const timers = opts.timers ?? realTimers;
  const hostInfo = opts.hostInfo ?? currentHostInfo;
  const idle = new IdleTracker(opts.idleMs, timers, opts.onIdle);

  // Health checks poll /status; it must not count as use or nothing would ever go idle.
  function status(res: ServerResponse): void {
    const reply = () => sendJson(res, 200, { status: 'ok', idleInSeconds: idle.secondsLeft() });
    const delay = opts.statusDelayMs ?? 0;
    if (delay <= 0) return reply();
    const h = timers.setTimeout(() => !res.destroyed && reply(), delay);
    res.on('close', () => timers.clearTimeout(h));
  }

  // A ticking Server-Sent Events stream: holds the app "in use" for as long as it is open.
  function events(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
    let n = 0;
    const h = timers.setInterval(() => {
      n++;
      const data = JSON.stringify({ n, time: new Date(timers.now()).toISOString() });
      res.write(`event: tick\ndata: ${data}\n\n`);
    }, TICK_MS);
    res.on('close', () => timers.clearInterval(h));
  }

  function echo(req: IncomingMessage, res: ServerResponse): void {
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let bodyLength = 0;
    req.on('data', (chunk: Buffer) => {
      bodyLength += chunk.length;
      if (keptBytes >= MAX_ECHO_BYTES) return;
      const part = chunk.subarray(0, MAX_ECHO_BYTES - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    });
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const withBody = bodyLength > 0 || ['POST', 'PUT', 'PATCH'].includes(method);
      sendJson(res, 200, {
        ...hostInfo(),
        connstr: opts.connstr ?? null,
        host: req.headers.host ?? null,
        path: req.url ?? '/',
        method,
        time: new Date(timers.now()).toISOString(),
        ...(withBody && {
          bodyLength,
          body: Buffer.concat(kept).toString('utf8'),
          bodyTruncated: bodyLength > keptBytes,
        }),
      });
    });
    req.on('error', () => res.destroy());
  }

  function handler(req: IncomingMessage, res: ServerResponse): void {
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname === '/status') return status(res);
    // Everything else is use: pause the idle countdown until this response is over.
    idle.begin();
    res.once('close', () => idle.end());
    if (pathname === '/events') return events(res);
    const fail = /^\/fail\/([45]\d\d)$/.exec(pathname ?? '');
    if (fail) return sendJson(res, Number(fail[1]), { hostname: hostInfo().hostname, status: Number(fail[1]) });
    echo(req, res);
  }

  return { handler, idle };
}
