/**
 * The operator's console in real Chromium against real Docker and Traefik: sign in, watch an
 * instance go running → stopped (idle) → running (woken through Traefik) with no reload (the
 * table follows the server's pushes), stop and delete one from its page, and check that actions
 * without the CSRF token or without the session are refused, that Traefik's entrypoint does not
 * lead to the console, and that an instance cannot open it. Screenshots go to
 * .build/artifacts/console/ (CI artefacts).
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { api, docker, login, spawnerLogs, startStack, type Stack } from './helpers/stack.js';
import { deployMock, send, type Deployed } from './helpers/wake.js';
import { execOut } from './helpers/exec.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = new URL('../.build/artifacts/console/', import.meta.url).pathname;
const IDLE_SEC = 4;
let stack: Stack;
let token: string;
let browser: Browser;
let page: Page;
let sleeper: Deployed;
/** Never idle-stopped (sleeper stops again 4 s after each use): the target of refused actions. */
let keeper: Deployed;
let loads = 0;

const shot = (name: string) => page.screenshot({ path: `${ARTIFACTS}${name}.png` });
// Columns: name, state, health, routing, revision (shown: every instance has revisions), idle
// timeout, idle in, last request, wakes (9), last wake (10), labels (11).
const cell = (name: string, col: number) => page.locator(`#rows tr[data-name="${name}"] > :nth-child(${col})`);
const stateOf = (name: string) => cell(name, 2);

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  [stack, browser] = await Promise.all([
    startStack({ env: { SPAWNER_IDLE_CHECK_SEC: '1' }, traefikArgs: ['--serversTransport.maxIdleConnsPerHost=-1'] }),
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] }),
  ]);
  token = await login(stack);
  keeper = await deployMock(stack, token, 'keeper', {}, { idleTimeout: 0 });
  page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  page.on('load', () => { loads++; });
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  if (stack) {
    if (process.env.E2E_DEBUG) console.log(await spawnerLogs(stack));
    await stack.teardown();
  }
});

describe('operator console (Chromium, real Docker + Traefik)', () => {
  it('signs in with the users file', async () => {
    await page.goto(`${stack.api}/console`);
    await expect.poll(() => page.locator('#login').isVisible()).toBe(true);
    await page.getByLabel('Username').fill(stack.user.username);
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('Wrong username or password');
    await page.getByLabel('Password').fill(stack.user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#live').textContent(), { timeout: 15_000 }).toBe('live');
    const cookie = (await page.context().cookies()).find((c) => c.name === 'spawner_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
  });

  it('shows an instance go from running to stopped by idle and back by a wake, without reloading', async () => {
    // Deployed after the page loaded: it can only appear by the server's push.
    sleeper = await deployMock(stack, token, 'sleeper', {}, { idleTimeout: IDLE_SEC, labels: { owner: '<img src=x onerror=document.title="pwned">' } });
    await expect.poll(() => stateOf('sleeper').textContent(), { timeout: 30_000 }).toBe('running');
    expect(await cell('sleeper', 11).textContent()).toContain('<img src=x'); // shown as text, not markup
    await shot('01-running');
    await expect.poll(() => stateOf('sleeper').textContent(), { timeout: 60_000, interval: 200 }).toBe('exited');
    await shot('02-stopped-by-idle');
    // A wake through Traefik's entrypoint, as a user's client would cause it.
    const woke = await send(`${stack.web}/`, { headers: { cookie: sleeper.cookie }, timeoutMs: 60_000 });
    expect(woke.status).toBe(307);
    await expect.poll(() => stateOf('sleeper').textContent(), { timeout: 30_000, interval: 200 }).toBe('running');
    await expect.poll(() => cell('sleeper', 9).textContent(), { timeout: 10_000 }).toBe('1');
    expect(await cell('sleeper', 10).textContent()).toMatch(/\d+(\.\d)? (ms|s)$/);
    await shot('03-woken');
    expect(loads).toBe(1);
    expect(await page.title()).toBe('Spawner console');
  });

  it('shows the instance page: lifecycle log and the last wake split into the gate phases', async () => {
    await page.locator('#rows a', { hasText: 'sleeper' }).click();
    await expect.poll(() => page.locator('#instance-h').textContent()).toBe('sleeper');
    const log = page.locator('table.log tbody');
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toMatch(/wake.*stopped.*idle.*deployed/s);
    for (const phase of ['start', 'health', 'route', 'probe']) expect(await page.locator(`svg rect.ph-${phase}`).count()).toBe(1);
    await page.screenshot({ path: `${ARTIFACTS}04-instance.png`, fullPage: true });
    await page.getByRole('link', { name: 'Fleet' }).click();
    await expect.poll(() => page.locator('#starts').textContent(), { timeout: 10_000 }).toMatch(/^\d+ \/ 8$/);
    await page.screenshot({ path: `${ARTIFACTS}05-fleet.png`, fullPage: true });
  });

  it('stops and deletes an instance from its page, with a confirmation', async () => {
    const doomed = await deployMock(stack, token, 'doomed');
    await page.goto(`${stack.api}/console#/i/doomed`);
    await expect.poll(() => page.locator('#instance-h').textContent(), { timeout: 15_000 }).toBe('doomed');
    // From the keyboard. The page re-renders on every pushed change (here: health starting →
    // healthy); the focused button must survive that, or a keypress or click can land on nothing.
    await page.getByRole('button', { name: 'Stop' }).focus();
    await expect.poll(() => page.locator('.facts').textContent(), { timeout: 30_000 }).toContain('running (health healthy)');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.action)).toBe('stop');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.facts').textContent(), { timeout: 60_000 }).toContain('exited');
    await page.getByRole('button', { name: 'Delete…' }).click();
    await expect.poll(() => page.locator('#confirm').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect((await api(stack, token, 'GET', '/deploy/doomed')).status).toBe(200);
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.locator('#confirm-delete').click();
    await expect.poll(() => page.url(), { timeout: 30_000 }).toMatch(/#\/$/);
    await expect.poll(() => page.locator('#rows tr[data-name="doomed"]').count(), { timeout: 15_000 }).toBe(0);
    expect((await api(stack, token, 'GET', '/deploy/doomed')).status).toBe(404);
    expect(await docker.getContainer(doomed.id).inspect().then(() => 'exists', () => 'gone')).toBe('gone');
    await shot('06-after-delete');
  });

  it('refuses actions without the CSRF token or without the session (problem+json), and changes nothing', async () => {
    const session = (await page.context().cookies()).find((c) => c.name === 'spawner_console')!;
    const url = `${stack.api}/console/api/instances/keeper/stop`;
    const tries: [string, Record<string, string>, number, string][] = [
      ['no session', {}, 401, 'unauthorized'],
      ['no CSRF token', { cookie: `spawner_console=${session.value}` }, 403, 'csrf_invalid'],
      ['a forged CSRF token', { cookie: `spawner_console=${session.value}`, 'x-csrf-token': 'A'.repeat(43) }, 403, 'csrf_invalid'],
      ['the deploy API token as session', { cookie: `spawner_console=svc`, token: stack.serviceToken }, 401, 'unauthorized'],
    ];
    for (const [what, headers, status, code] of tries) {
      const r = await fetch(url, { method: 'POST', headers });
      expect({ what, status: r.status, type: r.headers.get('content-type') }).toEqual({ what, status, type: 'application/problem+json; charset=utf-8' });
      expect(((await r.json()) as { code: string }).code).toBe(code);
    }
    // From the page itself: the browser adds the cookie, but a script without the token is refused.
    const inPage = await page.evaluate(async () => (await fetch('/console/api/instances/keeper/stop', { method: 'POST' })).status);
    expect(inPage).toBe(403);
    expect((await api(stack, token, 'GET', '/deploy/keeper')).body.status).toBe('running');
  });

  it('is not reachable through Traefik\'s entrypoint, nor from inside an instance', async () => {
    for (const path of ['/console', '/console/', '/console/api/me', '/console/assets/main.js']) {
      const r = await send(`${stack.web}${path}`, { headers: { accept: 'text/html' } });
      expect(r.body).not.toContain('Spawner console');
      expect(r.headers['content-security-policy']).toBeUndefined();
      expect(r.headers['x-spawner-wake']).toBeDefined(); // the wake listener answered: no instance, no console
    }
    const inst = docker.getContainer(keeper.id);
    // The spawner's name resolves on the instance's own network (the spawner joined it for its
    // probes), but it listens only on its control-network address: refused before any HTTP.
    const script = `fetch('http://${stack.network}-spawner:8008/console', { signal: AbortSignal.timeout(3000) }).then(async (r) => console.log(r.status, (await r.json()).code), (e) => console.log('error', e.cause?.code ?? e.name))`;
    const out = await execOut(inst, ['node', '-e', script]);
    expect(out.stdout.trim(), out.stderr).toBe('error ECONNREFUSED');
  });
});
