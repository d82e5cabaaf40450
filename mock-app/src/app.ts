/**
 * The mock app's request handler: echoes who answered and what it received, so end-to-end tests
 * can see which container served a request and that method, path and body survived the proxy.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import { IdleTracker, realTimers, type Timers } from './idle.js';
import { createInit, type InitFail } from './init.js';

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
  /** POST /init behaviour (init.ts); default: answers normally, at once. */
  init?: { fail: InitFail; delayMs: number };
  /** Called once per echoed request, when it is answered (LOG_REQUESTS: tests count replays). */
  onRequest?: (r: { method: string; path: string; requestId: string | null }) => void;
}

export interface MockApp {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The server's 'upgrade' listener: GET /ws accepts a WebSocket and then stays silent. */
  upgrade: (req: IncomingMessage, socket: Duplex) => void;
  /** Drops open WebSockets (they are not the HTTP server's to close). */
  closeUpgraded: () => void;
  /** Open WebSockets right now (a draining server waits for them until its deadline). */
  upgradedCount: () => number;
  idle: IdleTracker;
}

/** RFC 6455: the accept value is SHA-1 of the client's key and this GUID, base64. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const WS_KEY = /^[A-Za-z0-9+/]{22}==$/;

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
  const init = createInit({ fail: opts.init?.fail ?? '', delayMs: opts.init?.delayMs ?? 0, timers });

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
      const rid = req.headers['x-request-id'];
      opts.onRequest?.({ method, path: req.url ?? '/', requestId: typeof rid === 'string' ? rid : null });
      const withBody = bodyLength > 0 || ['POST', 'PUT', 'PATCH'].includes(method);
      sendJson(res, 200, {
        ...hostInfo(),
        connstr: opts.connstr ?? null,
        init: init.summary(),
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
    if (pathname === '/init') return init.handle(req, res);
    const fail = /^\/fail\/([45]\d\d)$/.exec(pathname ?? '');
    if (fail) return sendJson(res, Number(fail[1]), { hostname: hostInfo().hostname, status: Number(fail[1]) });
    // /delay/<ms>: a slow request (at most 60 s), e.g. one in flight while the app is stopped.
    const delay = /^\/delay\/(\d{1,5})$/.exec(pathname ?? '');
    if (delay) {
      const h = timers.setTimeout(() => !res.destroyed && echo(req, res), Math.min(Number(delay[1]), 60_000));
      res.once('close', () => timers.clearTimeout(h));
      return;
    }
    echo(req, res);
  }

  const upgraded = new Set<Duplex>();

  /**
   * A silent WebSocket: the handshake, then nothing is ever sent (frames from the client are read
   * and dropped). The app is in use for as long as it is open - what an idle reaper must notice
   * without any traffic to count.
   */
  function upgrade(req: IncomingMessage, socket: Duplex): void {
    socket.on('error', () => socket.destroy());
    const pathname = (req.url ?? '/').split('?')[0];
    const key = req.headers['sec-websocket-key'];
    if (pathname !== '/ws' || String(req.headers.upgrade).toLowerCase() !== 'websocket' || typeof key !== 'string' || !WS_KEY.test(key)) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    idle.begin();
    upgraded.add(socket);
    socket.on('data', () => undefined);
    // The HTTP server allows half-open sockets: the client's FIN alone would not close ours.
    socket.once('end', () => socket.destroy());
    socket.once('close', () => {
      upgraded.delete(socket);
      idle.end();
    });
  }

  function closeUpgraded(): void {
    for (const s of upgraded) s.destroy();
  }

  return { handler, upgrade, closeUpgraded, upgradedCount: () => upgraded.size, idle };
}
