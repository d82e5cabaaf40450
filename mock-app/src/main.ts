/**
 * Entry point: reads env, waits out STARTUP_DELAY (a slow boot: nothing listens meanwhile), serves
 * the mock app, and exits 0 when idle or on SIGTERM/SIGINT, so a stopped container is "clean".
 */
import { createServer, type Server } from 'node:http';
import { createMockApp, type MockApp } from './app.js';
import { formatMs, parseDuration } from './duration.js';
import { INIT_FAILS, type InitFail } from './init.js';

type Level = 'info' | 'warn' | 'error';

/** One JSON object per line on stdout: easy to grep in `docker logs` and to parse in tests. */
function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
}

/** Unset or empty means the default; a bad value is loud but not fatal (the default is used). */
function durationEnv(name: string, fallbackMs: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallbackMs;
  try {
    return parseDuration(raw);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    log('warn', `${name}: ${reason}; using default ${formatMs(fallbackMs)}`, {
      variable: name,
      value: raw,
    });
    return fallbackMs;
  }
}

function portEnv(fallback: number): number {
  const raw = process.env.PORT;
  if (raw === undefined || raw.trim() === '') return fallback;
  const port = Number(raw);
  if (Number.isInteger(port) && port > 0 && port < 65536) return port;
  log('warn', `PORT: invalid value; expected an integer 1-65535; using default ${fallback}`, {
    variable: 'PORT',
    value: raw,
  });
  return fallback;
}

const port = portEnv(9000);
const idleMs = durationEnv('IDLE', 60_000);
const startupDelayMs = durationEnv('STARTUP_DELAY', 0);
const statusDelayMs = durationEnv('STATUS_DELAY', 0);
const stopDelayMs = durationEnv('STOP_DELAY', 0);
// How long a SIGTERM waits for requests in flight (and open WebSockets) before exiting anyway.
const drainMs = durationEnv('DRAIN', 2_000);
const initDelayMs = durationEnv('INIT_DELAY', 0);
const initFail = (INIT_FAILS as readonly string[]).includes(process.env.INIT_FAIL ?? '') ? (process.env.INIT_FAIL ?? '') as InitFail : '';
if (initFail === '' && process.env.INIT_FAIL) {
  log('warn', `INIT_FAIL: invalid value; expected one of ${INIT_FAILS.filter(Boolean).join(', ')}; init answers normally`, { variable: 'INIT_FAIL', value: process.env.INIT_FAIL });
}

let server: Server | undefined;
let app: MockApp | undefined;
let exiting = false;

function shutdown(reason: string): void {
  if (exiting) return;
  exiting = true;
  log('info', 'shutting down', { reason, ...(stopDelayMs > 0 ? { stopDelay: formatMs(stopDelayMs) } : {}) });
  // Containers are stopped with a grace period: never hang past it. With STOP_DELAY, the listener
  // closes at once and the process lingers (an app draining its work): the container still runs,
  // so a proxy still routes to it, and connections are refused.
  const deadlineMs = stopDelayMs > 0 ? stopDelayMs : drainMs;
  const exit = setTimeout(() => {
    app?.closeUpgraded(); // WebSockets are closed at the deadline, not before
    process.exit(0);
  }, deadlineMs);
  if (stopDelayMs === 0) exit.unref(); // else it is what keeps the process alive
  if (!server?.listening) {
    if (stopDelayMs === 0) process.exit(0);
    return;
  }
  const srv = server;
  // Drain: no new connections; requests in flight finish and are answered (then their
  // keep-alive connection closes); idle keep-alive connections are closed now and as they go idle.
  let closed = false;
  const done = () => { if (closed && stopDelayMs === 0 && (app?.upgradedCount() ?? 0) === 0) process.exit(0); };
  srv.close(() => { closed = true; done(); });
  srv.closeIdleConnections();
  const sweep = setInterval(() => { srv.closeIdleConnections(); done(); }, 20);
  sweep.unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

log('info', 'starting', {
  port,
  idle: idleMs > 0 ? formatMs(idleMs) : 'disabled',
  startupDelay: formatMs(startupDelayMs),
  stopDelay: formatMs(stopDelayMs),
  drain: formatMs(drainMs),
  statusDelay: formatMs(statusDelayMs),
  pid: process.pid,
});

if (startupDelayMs > 0) await new Promise((r) => setTimeout(r, startupDelayMs));

if (!exiting) {
  // The idle window starts when we listen, not at process start, so STARTUP_DELAY doesn't eat it.
  app = createMockApp({
    idleMs,
    statusDelayMs,
    connstr: process.env.CONNSTR ?? null,
    init: { fail: initFail, delayMs: initDelayMs },
    ...(process.env.LOG_REQUESTS === '1' ? { onRequest: (r: { method: string; path: string; requestId: string | null }) => log('info', 'request', r) } : {}),
    onIdle: () => {
      log('info', 'idle shutdown', { idleSeconds: idleMs / 1000 });
      shutdown('idle');
    },
  });
  server = createServer(app.handler);
  server.on('upgrade', app.upgrade);
  server.on('error', (err) => {
    log('error', 'server error', { error: err.message });
    process.exit(1);
  });
  server.listen(port, () => log('info', 'listening', { port }));
}
