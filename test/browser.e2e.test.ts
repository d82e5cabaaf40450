/**
 * The browser flow on real Docker and real Traefik, driven by Debian's Chromium through
 * playwright-core: cookie → stopped instance → waiting page → the page moves on to the app by
 * itself (Server-Sent Events with JavaScript, the <noscript> meta refresh without); and a browser
 * without a cookie ends on the home URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Response } from 'playwright-core';
import { login, spawnerLogs, startStack, type Stack } from './helpers/stack.js';
import { deployMock, isRunning, watchStarts, stopAllWatches, stopInstance, waitReachable, type Deployed } from './helpers/wake.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = '/tmp/waiting-page.png';
let stack: Stack;
let token: string;
let browser: Browser;
let js: Deployed;
let nojs: Deployed;

beforeAll(async () => {
  [stack, browser] = await Promise.all([
    startStack(),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--disable-quic'],
    }),
  ]);
  token = await login(stack);
  [js, nojs] = await Promise.all([deployMock(stack, token, 'web-js'), deployMock(stack, token, 'web-nojs')]);
  await Promise.all([waitReachable(stack, js), waitReachable(stack, nojs)]);
});

afterAll(async () => {
  stopAllWatches();
  await browser?.close().catch(() => undefined);
  if (stack) {
    if (process.env.E2E_DEBUG) console.log(await spawnerLogs(stack));
    await stack.teardown();
  }
});

async function contextWithCookie(d: Deployed, opts: { javaScriptEnabled?: boolean } = {}): Promise<BrowserContext> {
  const ctx = await browser.newContext(opts);
  await ctx.addCookies([{ name: 'instance', value: d.value, url: stack.web }]);
  return ctx;
}

/** The app's own answer (JSON from mock-app) to a top-level navigation to `url`. */
const isAppAnswer = (url: string) => (r: Response) => r.url() === url
  && r.request().isNavigationRequest()
  && r.status() === 200
  && (r.headers()['content-type'] ?? '').includes('application/json')
  && r.headers()['x-spawner-wake'] === undefined;

describe('browser wake flow (Chromium, real Docker + Traefik)', () => {
  it('shows the waiting page, then moves on to the app by itself', async () => {
    const ctx = await contextWithCookie(js);
    try {
      await stopInstance(stack, token, js);
      const page = await ctx.newPage();
      const target = `${stack.web}/some/page?x=1`;
      const w = await watchStarts([js.id]);
      const seen: string[] = [];
      page.on('response', (r) => {
        if (r.url() === target) seen.push(`${r.status()} ${r.headers()['content-type'] ?? ''}`.split(';')[0]!);
        if (new URL(r.url()).pathname === '/.spawner/wake-stream') seen.push(`stream ${r.status()}`);
      });
      const t0 = Date.now();
      const appAnswer = page.waitForResponse(isAppAnswer(target), { timeout: 30_000 });
      appAnswer.catch(() => undefined); // awaited below; no unhandled rejection if we fail first
      const waiting = await page.goto(target, { waitUntil: 'domcontentloaded' });
      expect(waiting).not.toBeNull();
      expect(waiting!.status()).toBe(200);
      expect(waiting!.headers()['cache-control']).toBe('no-store');
      expect(waiting!.headers()['x-spawner-wake']).toBe('1');
      expect(waiting!.headers()['content-type']).toContain('text/html');
      expect(await waiting!.text()).toContain('<h1>Starting your app');
      // The DOM as shown (the wake needs the app's first health check, ~2 s, so it is still up).
      expect(await page.locator('h1').first().textContent()).toContain('Starting your app');
      await page.screenshot({ path: SCREENSHOT });

      const app = await appAnswer;
      const echo = (await app.json()) as { hostname: string; path: string };
      expect(echo.hostname).toBe(js.hostname);
      expect(echo.path).toBe('/some/page?x=1');
      // The page the user ends up on is the app, at the URL they asked for.
      await expect.poll(() => page.locator('body').textContent(), { timeout: 5_000 }).toContain(js.hostname);
      expect(page.url()).toBe(target);
      // One waiting page, one event stream, one navigation to the app: no reload loop behind it.
      expect(seen).toEqual(['200 text/html', 'stream 200', '200 application/json']);
      expect(await isRunning(js.id)).toBe(true);
      expect(w.stop()).toHaveLength(1);
      console.log(`[browser] waiting page → app by itself in ${Date.now() - t0} ms`);
    } finally {
      await ctx.close();
    }
  });

  it('gets to the app without JavaScript through the meta refresh', async () => {
    const ctx = await contextWithCookie(nojs, { javaScriptEnabled: false });
    try {
      await stopInstance(stack, token, nojs);
      const page = await ctx.newPage();
      const target = `${stack.web}/no/script`;
      const w = await watchStarts([nojs.id]);
      const t0 = Date.now();
      const appAnswer = page.waitForResponse(isAppAnswer(target), { timeout: 15_000 });
      appAnswer.catch(() => undefined);
      const waiting = await page.goto(target, { waitUntil: 'domcontentloaded' });
      expect(waiting!.status()).toBe(200);
      expect(waiting!.headers()['x-spawner-wake']).toBe('1');
      expect(await waiting!.text()).toMatch(/<noscript><meta http-equiv="refresh" content="\d+;url=\/no\/script"><\/noscript>/);
      const app = await appAnswer;
      expect(((await app.json()) as { hostname: string }).hostname).toBe(nojs.hostname);
      expect(page.url()).toBe(target);
      expect(w.stop()).toHaveLength(1);
      console.log(`[browser] no-JS meta refresh reached the app in ${Date.now() - t0} ms`);
    } finally {
      await ctx.close();
    }
  });

  it('sends a browser without a cookie to /home', async () => {
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      const res = await page.goto(`${stack.web}/some/page`, { waitUntil: 'domcontentloaded' });
      expect(new URL(page.url()).pathname).toBe('/home');
      expect(new URL(res!.request().redirectedFrom()!.url()).pathname).toBe('/some/page');
      // This stack has no home app, so /home falls through to the listener too: it must answer
      // there (404 page), not redirect to /home again (a loop the browser gives up on).
      expect(res!.status()).toBe(404);
      expect(res!.request().redirectedFrom()!.redirectedFrom()).toBeNull();
      expect(await page.locator('h1').textContent()).toBe('Page not available');
    } finally {
      await ctx.close();
    }
  });
});
