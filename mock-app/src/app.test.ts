import { createServer, request, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMockApp, MAX_ECHO_BYTES, type MockAppOptions } from './app.js';

// Only timers and Date are faked: sockets keep working, the idle clock is ours to drive.
const FAKE = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;
const NOW = new Date('2026-01-02T03:04:05.000Z');

let server: Server;
let port: number;

async function start(opts: Partial<MockAppOptions> = {}) {
  const onIdle = vi.fn();
  const app = createMockApp({
    idleMs: 2_000,
    onIdle,
    connstr: 'postgres://db/app',
    hostInfo: () => ({ hostname: 'box-1', ips: ['10.0.0.7'] }),
    ...opts,
  });
  server = createServer(app.handler);
  server.on('upgrade', app.upgrade);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  return { app, onIdle };
}

function call(path: string, method = 'GET', body?: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: [...FAKE] });
  vi.setSystemTime(NOW);
});
afterEach(async () => {
  vi.useRealTimers();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Opens a WebSocket handshake; resolves with the status line, the accept header and the socket. */
function upgradeTo(path: string, key = 'dGhlIHNhbXBsZSBub25jZQ=='): Promise<{ status: number; accept?: string; socket?: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path, agent: false,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': key, 'sec-websocket-version': '13' },
    });
    req.on('upgrade', (res, socket) => resolve({ status: res.statusCode ?? 0, accept: String(res.headers['sec-websocket-accept']), socket }));
    req.on('response', (res) => { res.resume(); resolve({ status: res.statusCode ?? 0 }); });
    req.on('error', reject);
    req.end();
  });
}

describe('mock app', () => {
  it('GET /ws: a WebSocket that stays silent and counts as use while open', async () => {
    const { app, onIdle } = await start();
    // The RFC 6455 example key and its accept value.
    const ws = await upgradeTo('/ws');
    expect(ws.status).toBe(101);
    expect(ws.accept).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    let received = 0;
    ws.socket!.on('data', () => { received++; });
    ws.socket!.write(Buffer.from([0x81, 0x80, 1, 2, 3, 4])); // a masked empty text frame: dropped
    await vi.advanceTimersByTimeAsync(5_000);
    expect(onIdle).not.toHaveBeenCalled(); // idleMs is 2 s: the open socket is use
    expect(received).toBe(0);
    ws.socket!.destroy();
    await vi.waitFor(() => expect(app.idle.inUse).toBe(0));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('refuses upgrades elsewhere or without a proper key, and closeUpgraded drops open sockets', async () => {
    const { app } = await start();
    expect((await upgradeTo('/other')).status).toBe(400);
    expect((await upgradeTo('/ws', 'short')).status).toBe(400);
    const ws = await upgradeTo('/ws');
    const closed = new Promise((r) => ws.socket!.once('close', r));
    app.closeUpgraded();
    await closed;
  });

  it('/fail/<4xx|5xx> answers that status (an app failing on its own, for error handling tests)', async () => {
    await start();
    expect(await call('/fail/502')).toEqual({ status: 502, json: { hostname: 'box-1', status: 502 } });
    expect((await call('/fail/404')).status).toBe(404);
    // Not a failure code, or not exactly /fail/<code>: echoed like any other path.
    for (const path of ['/fail/200', '/fail/5020', '/fail/502/x', '/x/fail/502']) {
      const r = await call(path);
      expect(r.status, path).toBe(200);
      expect(r.json.path).toBe(path);
    }
  });

  it('echoes host, path with query, method, env and time for any path', async () => {
    await start();
    const { status, json } = await call('/a/b?c=1');
    expect(status).toBe(200);
    expect(json).toEqual({
      hostname: 'box-1',
      ips: ['10.0.0.7'],
      connstr: 'postgres://db/app',
      init: { initialized: false, username: null, idempotencyKey: null, requests: 0, payload: null, at: null },
      host: `127.0.0.1:${port}`,
      path: '/a/b?c=1',
      method: 'GET',
      time: NOW.toISOString(),
    });
  });

  it('echoes POST/PUT bodies, truncated at 64 KiB but counted in full', async () => {
    await start();
    const small = await call('/form', 'POST', 'name=héllo');
    expect(small.json).toMatchObject({ method: 'POST', bodyLength: 11, body: 'name=héllo', bodyTruncated: false });
    const big = 'x'.repeat(MAX_ECHO_BYTES + 1000);
    const put = await call('/', 'PUT', big);
    expect(put.json.bodyLength).toBe(MAX_ECHO_BYTES + 1000);
    expect(put.json.body).toHaveLength(MAX_ECHO_BYTES);
    expect(put.json.bodyTruncated).toBe(true);
  });

  it('shuts down after the idle window; /status reports time left and does not reset it', async () => {
    const { onIdle } = await start();
    await call('/');
    vi.advanceTimersByTime(1_500);
    expect(await call('/status')).toEqual({ status: 200, json: { status: 'ok', idleInSeconds: 0.5 } });
    vi.advanceTimersByTime(499);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('reports idleInSeconds null when idle shutdown is disabled', async () => {
    const { onIdle } = await start({ idleMs: 0 });
    expect((await call('/status')).json.idleInSeconds).toBeNull();
    vi.advanceTimersByTime(24 * 3_600_000);
    expect(onIdle).not.toHaveBeenCalled();
  });

  it('delays /status by statusDelayMs', async () => {
    await start({ statusDelayMs: 3_000 });
    let answered = false;
    const pending = call('/status').then((r) => ((answered = true), r));
    // Idle countdown + the status delay: the request has reached the handler.
    await vi.waitFor(() => expect(vi.getTimerCount()).toBe(2));
    vi.advanceTimersByTime(2_999);
    expect(answered).toBe(false);
    vi.advanceTimersByTime(1);
    expect((await pending).json.status).toBe('ok');
  });

  it('streams ticks on /events and stays awake while a stream is open', async () => {
    const { app, onIdle } = await start();
    let text = '';
    const req = request({ host: '127.0.0.1', port, path: '/events', agent: false }, (res) => {
      expect(res.headers['content-type']).toBe('text/event-stream');
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
    });
    req.on('error', () => {});
    req.end();
    await vi.waitFor(() => expect(text).toContain(': connected'));
    vi.advanceTimersByTime(3_000);
    await vi.waitFor(() => expect(text).toContain('data: {"n":3,'));
    vi.advanceTimersByTime(60_000);
    expect(onIdle).not.toHaveBeenCalled();
    expect((await call('/status')).json.idleInSeconds).toBe(2);

    req.destroy();
    await vi.waitFor(() => expect(app.idle.inUse).toBe(0));
    vi.advanceTimersByTime(2_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });
});
