import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMockApp } from './app.js';
import type { InitFail } from './init.js';

let server: Server | undefined;
afterEach(async () => { server?.closeAllConnections(); await new Promise((r) => server?.close(r)); });

async function start(fail: InitFail = '', delayMs = 0): Promise<string> {
  const app = createMockApp({ idleMs: 0, onIdle: () => undefined, init: { fail, delayMs }, hostInfo: () => ({ hostname: 'box', ips: [] }) });
  server = createServer(app.handler);
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const body = JSON.stringify({ instance: 'alice', payload: { plan: 'pro' }, credentials: { username: 'u1', password: 'pw-SECRET' } });
const post = (base: string, key = 'k1') => fetch(`${base}/init`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'idempotency-key': key } });

describe('mock-app POST /init', () => {
  it('keeps the credentials, answers the login, and GET / shows it initialized without the password', async () => {
    const base = await start();
    const r = await post(base);
    expect(r.status).toBe(200);
    const answer = (await r.json()) as { login: unknown; initializedAt: string };
    expect(answer.login).toEqual({ username: 'u1', password: 'pw-SECRET' });
    const echo = await (await fetch(`${base}/`)).text();
    expect(JSON.parse(echo).init).toMatchObject({ initialized: true, username: 'u1', idempotencyKey: 'k1', requests: 1, payload: { plan: 'pro' } });
    expect(echo).not.toContain('pw-SECRET');
  });

  it('answers the same again for the same Idempotency-Key', async () => {
    const base = await start();
    const a = await (await post(base)).text();
    const b = await (await post(base)).text();
    expect(b).toBe(a);
  });

  it.each([
    ['500', 500, (t: string) => expect(t).toContain('init exploded')],
    ['invalid', 200, (t: string) => expect(() => JSON.parse(t) as unknown).toThrow()],
    ['huge', 200, (t: string) => expect(t.length).toBeGreaterThan(2 * 1024 * 1024)],
  ] as const)('INIT_FAIL=%s misbehaves as asked', async (fail, status, check) => {
    const base = await start(fail);
    const r = await post(base);
    expect(r.status).toBe(status);
    check(await r.text());
  });

  it('INIT_FAIL=hang never answers', async () => {
    const base = await start('hang');
    await expect(fetch(`${base}/init`, { method: 'POST', body, signal: AbortSignal.timeout(300) })).rejects.toThrow();
  });
});
