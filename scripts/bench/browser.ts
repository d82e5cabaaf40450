/**
 * Section 3: a real browser (playwright-core + Debian's Chromium) navigates to a stopped
 * instance with its cookie: waiting page → SSE `ready` → the app's page. Timed from page.goto
 * until the `load` event of the app's own document (a JSON page, not the waiting page).
 */
import { performance } from 'node:perf_hooks';
import { api } from '../../test/helpers/stack.js';
import { checkDeadline, sleep, stop, type Ctx, type Inst } from './common.js';
import { dist, round, type Dist } from './stats.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];

export interface BrowserResult {
  chromium: string;
  image: string;
  toAppLoaded: Dist;
  toWaitingPage: Dist;
  /** page.goto → the waiting page starts navigating to the app (its event stream said `ready`). */
  toWakeReady: Dist;
  /** page.goto → the app's own response to the navigation (headers received). */
  toAppResponse: Dist;
  /** The same wakes as the spawner timed them (`total` of its `wake` event). */
  serverWakeTotal: Dist;
  /** Runs whose first document was the waiting page (expected: all). */
  sawWaitingPage: number;
  errors: number;
  errorSamples: string[];
}

export async function browserNavigation(ctx: Ctx, targets: Array<{ inst: Inst; image: string }>): Promise<BrowserResult[]> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
  try {
    const out: BrowserResult[] = [];
    for (const { inst, image } of targets) {
      const loaded: number[] = [];
      const waiting: number[] = [];
      const ready: number[] = [];
      const appResp: number[] = [];
      const server: number[] = [];
      const errors: string[] = [];
      let sawWaiting = 0;
      for (let i = 0; i < ctx.sizes.browserRuns; i++) {
        checkDeadline(ctx, 'browser navigation');
        await stop(ctx, inst.name);
        const context = await browser.newContext();
        try {
          await context.addCookies([{ name: 'instance', value: inst.cookie, url: ctx.stack.web }]);
          const page = await context.newPage();
          let lastLoad = 0;
          let tReady = 0;
          let tApp = 0;
          page.on('load', () => { lastLoad = performance.now(); });
          let navigations = 0;
          page.on('request', (r) => {
            if (r.isNavigationRequest() && r.frame() === page.mainFrame() && ++navigations === 2) tReady = performance.now();
          });
          page.on('response', (r) => {
            if (r.request().isNavigationRequest() && r.status() === 200 && !r.headers()['x-spawner-wake']) tApp = performance.now();
          });
          const t0 = performance.now();
          const first = await page.goto(`${ctx.stack.web}/bench/browser?run=${i}`, { waitUntil: 'load', timeout: 60_000 });
          const tFirst = performance.now();
          if (first?.headers()['x-spawner-wake']) {
            sawWaiting++;
            waiting.push(tFirst - t0);
          }
          const end = performance.now() + 60_000;
          let state = '';
          while (performance.now() < end) {
            state = await page.evaluate(() => `${document.contentType}|${document.readyState}`).catch(() => '');
            if (state === 'application/json|complete') break;
            await sleep(10);
          }
          if (state !== 'application/json|complete') throw new Error(`app page not loaded (state ${state || 'navigating'})`);
          const text = await page.evaluate(() => document.body?.innerText ?? '');
          if (!text.includes(inst.name)) throw new Error('the loaded page is not this instance');
          loaded.push(lastLoad - t0);
          if (tReady) ready.push(tReady - t0);
          if (tApp) appResp.push(tApp - t0);
          const evs = await api(ctx.stack, ctx.token, 'GET', `/deploy/${inst.name}/events`);
          const wakes = ((evs.body.events ?? []) as Array<{ kind: string; detail?: { total?: number } }>).filter((e) => e.kind === 'wake');
          const total = wakes.at(-1)?.detail?.total;
          if (typeof total === 'number') server.push(total);
          ctx.log(`  browser ${inst.name} run ${i + 1}/${ctx.sizes.browserRuns}: app loaded after ${round(lastLoad - t0)} ms`);
        } catch (err) {
          errors.push((err as Error).message);
          ctx.log(`  browser ${inst.name} run ${i + 1}: ERROR ${(err as Error).message}`);
        } finally {
          await context.close();
        }
      }
      out.push({
        chromium: browser.version(), image, toAppLoaded: dist(loaded), toWaitingPage: dist(waiting),
        toWakeReady: dist(ready), toAppResponse: dist(appResp), serverWakeTotal: dist(server),
        sawWaitingPage: sawWaiting, errors: errors.length, errorSamples: errors.slice(0, 5),
      });
    }
    return out;
  } finally {
    await browser.close();
  }
}
