/**
 * The console page at 1,000 instances in real Chromium. The server side is the real console
 * (InstanceService, hub, routes) over FakeRuntime: no test machine runs 1,000 containers, and
 * what is measured here is the page (first render, sort, filter, one pushed change), not Docker.
 * Also writes the README's screenshot (docs/console.png) when UPDATE_DOCS_SCREENSHOT=1.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startFakeConsole, type FakeConsole } from './helpers/console-fake.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = new URL('../.build/artifacts/console/', import.meta.url).pathname;
const N = 1000;
let fake: FakeConsole;
let browser: Browser;
let page: Page;

async function signIn(p: Page, f: FakeConsole): Promise<void> {
  await p.goto(`${f.url}/console`);
  await p.getByLabel('Username').fill(f.user.username);
  await p.getByLabel('Password').fill(f.user.password);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  [fake, browser] = await Promise.all([
    startFakeConsole({ instances: N, labels: (i) => ({ owner: `user-${i % 40}`, team: ['blue', 'red', 'green'][i % 3]! }) }),
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] }),
  ]);
  page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await fake?.close();
});

const visibleNames = () => page.locator('#rows tr').evaluateAll((trs) => trs.map((t) => (t as HTMLElement).dataset.name));

describe('console at 1,000 instances (Chromium)', () => {
  it('shows the first 200 rows of the pushed snapshot, and the rest on request', async () => {
    const t0 = Date.now();
    await signIn(page, fake);
    await expect.poll(() => page.locator('#rows tr').count(), { timeout: 30_000 }).toBe(200);
    console.log(`[console-scale] sign-in → first 200 of ${N} rows shown: ${Date.now() - t0} ms`);
    expect(await page.locator('#count').textContent()).toBe(`(${N} of ${N})`);
    await page.screenshot({ path: `${ARTIFACTS}10-thousand.png` });
    for (let shown = 400; shown <= N; shown += 200) {
      await page.getByRole('button', { name: /^Show 200 more/ }).click();
      await expect.poll(() => page.locator('#rows tr').count()).toBe(shown);
    }
    expect(await page.locator('#more').isHidden()).toBe(true);
  });

  it('sorts by a column from the keyboard, and back (a new order starts at its first 200 rows)', async () => {
    const t0 = Date.now();
    await page.locator('button[data-sort="name"]').focus();
    await page.keyboard.press('Enter'); // name, descending
    await expect.poll(async () => (await visibleNames())[0]).toBe('inst-999');
    expect(await page.locator('#rows tr').count()).toBe(200);
    expect(await page.locator('th[aria-sort="descending"]').textContent()).toBe('Name');
    console.log(`[console-scale] sort 1,000 rows (200 shown): ${Date.now() - t0} ms`);
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await visibleNames())[0]).toBe('inst-0');
  });

  it('filters by words and by state', async () => {
    const t0 = Date.now();
    await page.getByLabel('Filter').fill('team=red user-7');
    // owner user-7 ⇔ i ≡ 7 (mod 40); team red ⇔ i ≡ 1 (mod 3): i ≡ 7 (mod 120), so 9 rows < 1000.
    await expect.poll(() => page.locator('#rows tr').count()).toBe(9);
    console.log(`[console-scale] filter 1,000 rows: ${Date.now() - t0} ms`);
    await page.getByLabel('Filter').fill('team=blue');
    await page.getByLabel('State', { exact: true }).selectOption('exited');
    // team blue ⇔ i ≡ 0 (mod 3), and every third instance (i ≡ 0 mod 3) was stopped: 334 rows.
    // The rows are read only once the count says both filters apply (a loaded machine renders late).
    await expect.poll(() => page.locator('#count').textContent()).toBe(`(334 of ${N})`);
    const names = await visibleNames();
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((n) => Number(n!.slice(5)) % 3 === 0)).toBe(true);
    await page.getByLabel('Filter').fill('');
    await page.getByLabel('State', { exact: true }).selectOption('');
    await expect.poll(() => page.locator('#count').textContent()).toBe(`(${N} of ${N})`);
  });

  it('applies one pushed change by replacing only that row', async () => {
    await page.evaluate(() => { for (const tr of document.querySelectorAll('#rows tr')) (tr as HTMLElement).dataset.old = '1'; });
    await fake.service.stop('inst-151', 'api');
    await expect.poll(() => page.locator('#rows tr[data-name="inst-151"] .state').textContent(), { timeout: 10_000 }).toBe('exited');
    expect(await page.locator('#rows tr:not([data-old])').evaluateAll((t) => t.map((x) => (x as HTMLElement).dataset.name))).toEqual(['inst-151']);
    expect(await page.locator('#rows tr').count()).toBe(200);
  });

  it('writes the README screenshot on request', async () => {
    if (process.env.UPDATE_DOCS_SCREENSHOT !== '1') return;
    const small = await startFakeConsole({ instances: 14, labels: (i) => ({ owner: ['alice', 'bob', 'carol', 'dave'][i % 4]! }) });
    try {
      const p = await (await browser.newContext({ viewport: { width: 1280, height: 560 } })).newPage();
      await signIn(p, small);
      await expect.poll(() => p.locator('#rows tr').count()).toBe(14);
      await p.screenshot({ path: new URL('../docs/console.png', import.meta.url).pathname });
    } finally {
      await small.close();
    }
  });
});
