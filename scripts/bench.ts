/**
 * Spawner benchmark on real Docker + real Traefik (the e2e stack of test/helpers/stack.ts).
 *
 *   npm run bench                  full run (N ≥ 20 wakes, 1,000 registered instances, …)
 *   npm run bench -- --quick       CI smoke: small N, same sections, no timing assertions
 *   options: --out DIR (default bench-results), --only a,b (sections: hotpath, wake, browser,
 *            storm, deploy, fanout, footprint, proxied, networks, redeploy, fleet, scale), --registered N
 *            (footprint size), --scale-levels A,B (populations of the scale section),
 *            --engine default|current|swarm|cluster|both|all (or a list: current,swarm): run on that
 *            engine / on each (scripts/bench/engines.ts), one report with the wake sections side by
 *            side; swarm and cluster run the swarm bench (scripts/bench-swarm.ts) on the one-node
 *            and three-node swarms (default: the engine DOCKER_HOST names, plain sections)
 *
 * Prints a markdown table on stdout (progress goes to stderr) and writes DIR/latest.json and
 * DIR/latest.md. Everything the bench creates carries the stack's run label and is removed by
 * label at the end, also on failure or Ctrl-C. Traffic goes only to 127.0.0.1 ports the stack
 * published and to containers on the bench's own network.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { docker, login, startStack, type Stack } from '../test/helpers/stack.js';
import { IMAGES } from '../test/helpers/docker-env.js';
import { browserNavigation, CHROMIUM } from './bench/browser.js';
import { FULL, QUICK, appUp, deploy, type Ctx } from './bench/common.js';
import { buildNoHealthcheckImage, containerMemory, EventLog, machine, run } from './bench/docker.js';
import { deployLatency, footprint } from './bench/deploy.js';
import { hotPath } from './bench/hotpath.js';
import { proxied } from './bench/proxied.js';
import { networkCost } from './bench/networks.js';
import { renderMarkdown } from './bench/report.js';
import { evaluateTargets, explain, type BenchResult } from './bench/result.js';
import { fanout, storm } from './bench/storm.js';
import { floorAndWake } from './bench/wake.js';
import { redeploys } from './bench/redeploy.js';
import { fleet } from './bench/fleet.js';
import { scale } from './bench/scale.js';
import { failedEngines, parseEngines, renderSideBySide, renderSwarms, runOnEngines, type Engine } from './bench/engines.js';

const SECTIONS = ['hotpath', 'wake', 'browser', 'storm', 'deploy', 'fanout', 'footprint', 'proxied', 'networks', 'redeploy', 'fleet', 'scale'] as const;
type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  quick: boolean;
  outDir: string;
  only?: Section[];
  /** Instances registered by the footprint section (default: the mode's size). */
  registered?: number;
  /** Populations of the scale section (default: the mode's levels). */
  scaleLevels?: number[];
  engines?: Engine[];
  /** The arguments without --engine/--out, for the per-engine child runs. */
  childArgs: string[];
}

export function parseArgs(argv: string[]): BenchOptions {
  const opts: BenchOptions = { quick: false, outDir: 'bench-results', childArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--out') opts.outDir = argv[++i] ?? opts.outDir;
    else if (a === '--registered') opts.registered = Number(argv[++i]);
    else if (a === '--scale-levels') {
      const v = argv[++i] ?? '';
      opts.scaleLevels = v.split(',').map(Number);
      if (!opts.scaleLevels.length || opts.scaleLevels.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--scale-levels ${v}; allowed: positive integers, comma-separated (e.g. 10,100)`);
    }
    else if (a === '--engine') {
      opts.engines = parseEngines(argv[++i] ?? '');
      continue;
    } else if (a === '--only') {
      const list = (argv[++i] ?? '').split(',').filter(Boolean);
      const bad = list.filter((s) => !(SECTIONS as readonly string[]).includes(s));
      if (bad.length) throw new Error(`unknown section(s) ${bad.join(', ')}; allowed: ${SECTIONS.join(', ')}`);
      opts.only = list as Section[];
    } else throw new Error(`unknown argument ${a}; usage: bench [--quick] [--out DIR] [--registered N] [--scale-levels A,B] [--only ${SECTIONS.join(',')}] [--engine default|current|swarm|cluster|both|all, or a comma-separated list]`);
    if (a !== '--out') opts.childArgs.push(a, ...(a === '--only' || a === '--registered' || a === '--scale-levels' ? [argv[i] ?? ''] : []));
  }
  return opts;
}

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/**
 * The spawner's environment in the bench: its defaults, plus BENCH_SPAWNER_<X>=v from the bench's
 * own environment as SPAWNER_<X>=v (to measure an option, e.g. BENCH_SPAWNER_HEALTH_START_INTERVAL_MS=100);
 * the report states them.
 */
const SPAWNER_ENV: Record<string, string> = {
  SPAWNER_LOG_LEVEL: 'info',
  ...Object.fromEntries(Object.entries(process.env)
    .filter(([k, v]) => k.startsWith('BENCH_SPAWNER_') && v !== undefined)
    .map(([k, v]) => [k.slice('BENCH_'.length), String(v)])),
};
const MAX_CONCURRENT_STARTS = 8; // the spawner's default, not overridden here

export async function runBench(opts: BenchOptions): Promise<{ result: BenchResult; markdown: string; failed: boolean }> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const sizes = { ...(opts.quick ? QUICK : FULL), ...(opts.registered ? { registered: opts.registered } : {}), ...(opts.scaleLevels ? { scaleLevels: opts.scaleLevels } : {}) };
  const want = (s: Section) => !opts.only || opts.only.includes(s);
  const images = { hc: IMAGES.mockApp, nohc: `${IMAGES.mockApp.split(':')[0]}:nohc` };
  log(`building ${images.nohc} (FROM ${images.hc} + HEALTHCHECK NONE)`);
  await buildNoHealthcheckImage(images.hc, images.nohc);

  let stack: Stack | undefined;
  let starting: Promise<Stack> | undefined;
  let events: EventLog | undefined;
  let tearingDown: Promise<void> | undefined;
  const teardown = () => {
    tearingDown ??= (async () => {
      events?.close();
      // A signal during start-up: let startStack finish (or fail and clean up) and tear that down.
      stack ??= await starting?.catch(() => undefined);
      if (stack) {
        log('teardown: removing everything labelled with this run');
        const s = performance.now();
        await stack.teardown();
        log(`teardown done in ${Math.round(performance.now() - s)} ms`);
      }
    })();
    return tearingDown;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: tearing down`);
    void teardown().finally(() => process.exit(130));
  };
  // A crash anywhere (an 'error' event nobody handled, a stray rejection) must still tear down.
  const onCrash = (err: unknown) => {
    log(`crash: ${(err as Error)?.stack ?? String(err)}; tearing down`);
    void teardown().finally(() => process.exit(1));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);

  // Other work on the machine skews every figure: sample the load average during the run.
  const loads: number[] = [];
  const sampler = setInterval(() => loads.push(os.loadavg()[0] ?? 0), 5_000);
  sampler.unref();
  const errors: Record<string, string> = {};
  const sections: BenchResult['sections'] = {};
  try {
    log('starting the stack (network, Traefik, spawner)');
    starting = startStack({ env: SPAWNER_ENV });
    stack = await starting;
    log(`stack ${stack.runId}: web ${stack.web}, wake ${stack.wake}, api ${stack.api}, traefik api ${stack.traefikApi}`);
    const token = await login(stack);
    events = await EventLog.open(docker, `spawner.id=${stack.spawnerId}`);
    const traefikArgs = ((await stack.traefik.inspect()).Config.Cmd ?? []) as string[];
    const mach = { ...(await machine(docker, stack.traefikApi, traefikArgs)), spawnerEnv: SPAWNER_ENV };
    const ctx: Ctx = {
      stack, token, docker, events, sizes, quick: opts.quick, images, log,
      deadline: performance.now() + (opts.quick ? 8 : 90) * 60_000,
    };
    // Idle footprint first: nothing deployed, no load yet.
    await new Promise((r) => setTimeout(r, 1_000));
    const idle = await containerMemory(stack.spawner);
    log(`spawner idle: RSS ${idle.rssMiB} MiB`);

    const section = async (name: Section, fn: () => Promise<void>) => {
      if (!want(name) || tearingDown) return; // after a signal or crash: no new section
      log(`section ${name}`);
      const s = performance.now();
      try {
        await fn();
      } catch (err) {
        errors[name] = (err as Error).message;
        log(`section ${name} FAILED: ${(err as Error).stack ?? String(err)}`);
      }
      log(`section ${name} took ${Math.round((performance.now() - s) / 1000)} s`);
    };

    await section('hotpath', async () => { sections.hotPath = await hotPath(ctx); });
    await section('wake', async () => {
      sections.coldWake = {};
      sections.floor = {};
      for (const v of ['nohc', 'hc'] as const) {
        const w = await floorAndWake(ctx, v);
        sections.coldWake[v] = w;
        sections.floor[v] = w.floor;
      }
      // The same app with 2 CPUs instead of the default 0.5: what the default limit costs a wake.
      sections.coldWake.nohcCpus2 = await floorAndWake(ctx, 'nohc', 'w-nohc-cpus2', { cpus: 2 });
    });
    let chromium = 'chromium not run';
    await section('browser', async () => {
      const targets = [];
      for (const v of ['nohc', 'hc'] as const) {
        const image = images[v];
        const inst = await deploy(ctx, `b-${v}`, image);
        await appUp(ctx, inst);
        targets.push({ inst, image });
      }
      sections.browser = await browserNavigation(ctx, targets);
      chromium = `Chromium ${sections.browser[0]?.chromium ?? '?'} (${CHROMIUM})`;
    });
    await section('storm', async () => {
      sections.storm = await storm(ctx, await deploy(ctx, 'storm', images.nohc));
    });
    await section('deploy', async () => { sections.deploy = await deployLatency(ctx); });
    await section('fanout', async () => { sections.fanout = await fanout(ctx); });
    await section('footprint', async () => { sections.footprint = await footprint(ctx, idle); });
    await section('proxied', async () => { sections.proxied = await proxied(ctx); });
    await section('networks', async () => { sections.networks = await networkCost(ctx); });
    await section('redeploy', async () => { sections.redeploy = await redeploys(ctx); });
    // Scale before fleet: its levels are the population (10, 100, 1,000), which fleet would raise.
    await section('scale', async () => { sections.scale = await scale(ctx); });
    await section('fleet', async () => { sections.fleet = await fleet(ctx); });

    const wrk = await run('sh', ['-c', 'wrk --version 2>&1 | head -1']).catch(() => ({ out: '' }));
    const result: BenchResult = {
      schema: 'spawner-bench/1',
      mode: opts.quick ? 'quick' : 'full',
      runId: stack.runId,
      startedAt,
      runSeconds: 0,
      machine: mach,
      tools: {
        chromium,
        loadGenerator: sections.hotPath?.tool.startsWith('wrk') ? (wrk.out.trim().split(' [')[0] ?? 'wrk') : (sections.hotPath?.tool ?? 'not run'),
      },
      setup: {
        spawnerImage: IMAGES.spawner, maxConcurrentStarts: MAX_CONCURRENT_STARTS, probeThroughProxy: true,
        logLevel: SPAWNER_ENV.SPAWNER_LOG_LEVEL ?? 'info', images,
      },
      sections,
      loadAverageDuring: { samples: 0, min: 0, mean: 0, max: 0 },
      targets: [],
      explanations: [],
      errors,
    };
    await teardown();
    result.runSeconds = Math.round((performance.now() - t0) / 1000);
    clearInterval(sampler);
    result.loadAverageDuring = {
      samples: loads.length,
      min: loads.length ? Math.round(Math.min(...loads) * 100) / 100 : 0,
      mean: loads.length ? Math.round((loads.reduce((a, b) => a + b, 0) / loads.length) * 100) / 100 : 0,
      max: loads.length ? Math.round(Math.max(...loads) * 100) / 100 : 0,
    };
    result.targets = evaluateTargets(result);
    result.explanations = explain(result);
    const markdown = renderMarkdown(result);
    return { result, markdown, failed: Object.keys(errors).length > 0 };
  } finally {
    clearInterval(sampler);
    await teardown();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('uncaughtException', onCrash);
    process.removeListener('unhandledRejection', onCrash);
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const dir = resolve(opts.outDir);
  mkdirSync(dir, { recursive: true });
  if (opts.engines) {
    const results = await runOnEngines(opts.engines, opts.childArgs, dir, log);
    const engines = opts.engines.map((e) => `${e}/latest.md`).join(', ');
    const plain = Object.keys(results.plain).length ? `${renderSideBySide(results.plain)}\n\n` : '';
    const swarm = Object.keys(results.swarm).length ? `${renderSwarms(results)}\n\n` : '';
    const markdown = `${plain}${swarm}Full reports: ${engines}\n`;
    writeFileSync(join(dir, 'latest.md'), markdown);
    writeFileSync(join(dir, 'latest.json'), `${JSON.stringify({ schema: 'spawner-bench-engines/1', engines: results }, null, 2)}\n`);
    process.stdout.write(markdown);
    const missing = failedEngines(opts.engines, results);
    if (missing.length) {
      log(`engines with errors or no result: ${missing.join(', ')}`);
      process.exitCode = 1;
    }
    return;
  }
  const { result, markdown, failed } = await runBench(opts);
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), `${markdown}\n`);
  process.stdout.write(`${markdown}\n`);
  log(`wrote ${join(dir, 'latest.json')} and latest.md (${result.runSeconds} s)`);
  if (failed) {
    log(`sections failed: ${Object.keys(result.errors).join(', ')}`);
    process.exitCode = 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('scripts/bench.ts')) {
  main().catch((err) => {
    log(`bench failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  });
}
