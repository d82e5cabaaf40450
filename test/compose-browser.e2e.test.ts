/**
 * A real browser against the compose stack: sign up on mock-home, land on the own app, let it go
 * idle (mock-home deploys with APP_ENVS {"IDLE":"4s"}, set through compose's MOCK_APP_ENVS), then
 * open "/" again: the waiting page shows and moves on to the app by itself (no reload).
 * Screenshots: /tmp/compose-browser-home.png and /tmp/compose-browser-waiting.png.
 */
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { instanceId, startComposeStack, waitForFallThrough, waitForStatus, type ComposeStack, stepTimer } from './helpers/compose.js';
import { pollUntil } from './helpers/poll.js';
import { IMAGES } from './helpers/docker-env.js';

const HOME_PNG = '/tmp/compose-browser-home.png';
const WAITING_PNG = '/tmp/compose-browser-waiting.png';
const FAILURE_PNG = '/tmp/compose-browser-failure.png';
const { timed, record, lines: timings } = stepTimer(30);

/** The app's JSON as the browser renders it (after any waiting page). */
async function appJson(page: Page, timeoutMs: number): Promise<{ hostname: string; path: string }> {
  let last = '';
  try {
    return await pollUntil('the app page', async () => {
      last = `${page.url()} ${await page.title()}: ${await page.evaluate(() => document.body?.innerText ?? '')}`;
      const text = last.slice(last.indexOf(': ') + 2).trim();
      if (!text.startsWith('{')) return undefined;
      const json = JSON.parse(text) as { hostname?: string; path: string };
      return json.hostname ? (json as { hostname: string; path: string }) : undefined;
    }, { timeoutMs, intervalMs: 100 });
  } catch (err) {
    await page.screenshot({ path: FAILURE_PNG, fullPage: true }).catch(() => undefined);
    throw new Error(`${String(err)}; the browser shows ${last.slice(0, 500)} (screenshot ${FAILURE_PNG})`);
  }
}

describe('compose stack in a browser: signup, idle, waiting page, app', () => {
  let stack: ComposeStack;
  let browser: Browser | undefined;
  const name = `br${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([
      timed('compose up + routes live', () => startComposeStack({ env: { MOCK_APP_ENVS: '{"IDLE":"4s"}' } })),
      timed('chromium launch', () => chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
          '--disable-sync', '--no-first-run', '--disable-quic'],
      })),
    ]);
  }, 120_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== 'fail' || !stack) return;
    // What the spawner saw: wakes with their timings, and the instance's lifecycle.
    const logs = await stack.compose('logs', '--no-color', '--tail=25', 'spawner');
    const events = await stack.call('GET', `/deploy/${name}/events`).catch((e) => ({ body: String(e) }));
    console.error(`[compose-browser] spawner logs:\n${logs.stdout}\nevents of ${name}: ${JSON.stringify(events.body)}`);
  });

  afterAll(async () => {
    await browser?.close();
    await timed('teardown', () => stack?.teardown() ?? Promise.resolve());
    console.log(`[compose-browser] timings:\n  ${timings.join('\n  ')}`);
  }, 120_000);

  it('signs up, sleeps, shows the waiting page and reaches the app without a reload', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();

    await timed('home page', async () => {
      const res = await page.goto(`${stack.web}/home`);
      expect(res?.status()).toBe(200);
    });
    expect(await page.title()).toBe('Get your own app');
    await page.screenshot({ path: HOME_PNG, fullPage: true });

    // A choice of runtime from the spawner's catalogue (GET /runtimes): the app image preselected,
    // its second tag (other OCI labels) offered. The sign-up keeps the preselected one.
    const options = await page.locator('#runtime option').evaluateAll((os) => os.map((o) => ({ value: (o as HTMLOptionElement).value, text: o.textContent ?? '', selected: (o as HTMLOptionElement).selected })));
    expect(options).toContainEqual({ value: IMAGES.mockApp, text: `Mock app 1.0.0 (${IMAGES.mockApp})`, selected: true });
    expect(options).toContainEqual({ value: IMAGES.mockAppAlt, text: `Mock app v2 2.0.0 (${IMAGES.mockAppAlt})`, selected: false });
    await page.fill('#name', name);
    const first = await timed('signup -> app page', async () => {
      await Promise.all([page.waitForURL(`${stack.web}/`), page.click('button[type=submit]')]);
      return appJson(page, 45_000);
    });
    const id = await instanceId(stack, name);
    expect(first).toMatchObject({ hostname: name, path: '/' });
    const cookie = (await context.cookies()).find((c) => c.name === 'instance');
    expect(cookie).toMatchObject({ value: expect.stringMatching(new RegExp(`^${name}\\.`)), httpOnly: true, path: '/' });

    // The app stops itself after IDLE=4s (mock-home passed APP_ENVS); the spawner sees the exit.
    await timed('idle shutdown seen by API', () => waitForStatus(stack, [name], 'exited', 30_000));
    await timed('route dropped by Traefik', () => waitForFallThrough(stack, `instance=${cookie!.value}`));

    // Hold the waiting page's event stream until the screenshot is taken; then let it run.
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let streamRequested = false;
    await page.route('**/.spawner/wake-stream', async (route) => {
      streamRequested = true;
      await held;
      await route.continue();
    });
    const navigations: string[] = [];
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });

    const started = Date.now();
    const waiting = await page.goto(`${stack.web}/`, { waitUntil: 'domcontentloaded' });
    expect(waiting?.status()).toBe(200);
    expect(await waiting?.text()).toContain('Starting your app');
    expect(await page.title()).toBe('Starting your app…');
    await pollUntil('the event stream request', async () => (streamRequested ? true : undefined), { timeoutMs: 10_000 });
    await page.screenshot({ path: WAITING_PNG, fullPage: true });
    release();

    const again = await timed('waiting page -> app page', () => appJson(page, 45_000));
    record('wake in the browser (total)', Date.now() - started);
    expect(again).toMatchObject({ hostname: name, path: '/' }); // its own app, woken
    // Exactly two documents: the waiting page, then the app it replaced itself with.
    expect(navigations).toEqual([`${stack.web}/`, `${stack.web}/`]);
    const { body } = await stack.call('GET', `/deploy/${name}`);
    expect(body.status).toBe('running');
    await context.close();
  });

  it('serves the operator console on the private API port only, never through Traefik', async () => {
    const own = await fetch(`${stack.api}/console`);
    expect(own.status).toBe(200);
    expect(own.headers.get('content-security-policy')).toMatch(/^default-src 'self';.*frame-ancestors 'none'/);
    expect(await own.text()).toContain('<title>Spawner console</title>');
    for (const path of ['/console', '/console/api/me', '/console/assets/main.js']) {
      const viaTraefik = await fetch(`${stack.web}${path}`, { redirect: 'manual', headers: { accept: 'text/html' } });
      expect(viaTraefik.headers.get('content-security-policy')).toBeNull();
      expect(await viaTraefik.text()).not.toContain('Spawner console');
    }
  });
});
