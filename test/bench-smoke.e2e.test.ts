/**
 * Smoke test of the benchmark: `npm run bench -- --quick` as a child process on the real engine.
 * It asserts that the run completes, tears down what it created, and writes JSON in which every
 * section carries numbers. No timing is asserted: CI machines vary too much for that.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScript } from './helpers/script.js';
import { docker, RUN_LABEL } from './helpers/stack.js';

const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
const RUN_TIMEOUT_MS = 10 * 60_000; // ~3.5 min on the idle machine (2 CPUs), about 2 × that under CI load

afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Reads a dotted path ("a.b.0.c") of the result. */
function at(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

describe('bench --quick (real Docker + Traefik)', () => {
  it('completes and writes every section with numeric values', async () => {
    const before = new Set((await docker.listContainers({ all: true, filters: { label: [RUN_LABEL] } })).map((c) => c.Id));
    const run = await runScript('scripts/bench.ts', ['--quick', '--out', out], RUN_TIMEOUT_MS);
    expect(run.code, run.stderr.slice(-4000)).toBe(0);
    expect(run.stdout).toContain('| section | measurement |');

    const jsonFile = join(out, 'latest.json');
    expect(existsSync(jsonFile)).toBe(true);
    expect(existsSync(join(out, 'latest.md'))).toBe(true);
    const r = JSON.parse(readFileSync(jsonFile, 'utf8')) as Record<string, unknown>;
    expect(r.mode).toBe('quick');
    expect(r.errors).toEqual({});
    expect(at(r, 'machine.traefik.providersThrottleDuration')).toBe('100ms');
    for (const key of ['machine.docker.apiVersion', 'machine.docker.version', 'machine.traefik.version', 'machine.kernel', 'machine.node']) {
      expect(typeof at(r, key), key).toBe('string');
    }

    const numeric = [
      'runSeconds', 'machine.nproc', 'machine.memoryGiB',
      // 1 floor
      'sections.floor.nohc.toApp200.p50', 'sections.floor.hc.toApp200.p50', 'sections.floor.hc.toHealthy.p50',
      'sections.floor.nohc.toRoute.p50',
      // 2 cold wake, both variants, every phase
      ...['nohc', 'hc'].flatMap((v) => [
        `sections.coldWake.${v}.wake.total.p50`, `sections.coldWake.${v}.wake.total.p95`,
        ...['start', 'health', 'route', 'probe', 'total'].map((p) => `sections.coldWake.${v}.wake.phases.${p}.p50`),
        `sections.coldWake.${v}.overhead.vsApp200.p50`,
      ]),
      'sections.coldWake.hc.overhead.vsHealthy.p50',
      // the default CPU limit against 2 CPUs, same app
      'sections.coldWake.nohcCpus2.floor.toApp200.p50', 'sections.coldWake.nohcCpus2.wake.total.p50', 'sections.coldWake.nohcCpus2.overhead.vsApp200.p50',
      // 3 browser (both variants)
      'sections.browser.0.toAppLoaded.p50', 'sections.browser.1.toAppLoaded.p50',
      // 4 storm
      'sections.storm.starts', 'sections.storm.errors', 'sections.storm.toApp200.p50', 'sections.storm.toApp200.p95',
      // 5 fan-out
      'sections.fanout.toApp200.p50', 'sections.fanout.finalSuccess', 'sections.fanout.firstTry503', 'sections.fanout.starts',
      // 6 deploy
      'sections.deploy.sequential.perDeploy.p50', 'sections.deploy.parallel.perDeploy.p50',
      // 7 footprint
      'sections.footprint.idle.rssMiB', 'sections.footprint.withInstances.rssMiB', 'sections.footprint.getDeploy.p50',
      'sections.footprint.registration.wallSec', 'sections.footprint.dockerListFloor.p50',
      // 8 hot path
      'sections.hotPath.requestsPerSec', 'sections.hotPath.latencyMs.p99',
      // 9 proxied (recovery middleware vs a twin without it)
      'sections.proxied.median.withMiddleware.requestsPerSec', 'sections.proxied.median.withoutMiddleware.requestsPerSec',
      'sections.proxied.throughputRatio',
      // 11 redeploy (start-first switches under load)
      ...(['nohc', 'hc'] as const).flatMap((v) => [`sections.redeploy.${v}.switchGapMs.p50`, `sections.redeploy.${v}.redeployCallMs.p50`, `sections.redeploy.${v}.errors`, `sections.redeploy.${v}.lost`, `sections.redeploy.${v}.replayed`]),
      // 12 fleet throughput (ratios to the engine's floor)
      'sections.fleet.floor.best.createStart.perSec', 'sections.fleet.floor.best.start.perSec', 'sections.fleet.floor.best.startToApp200.perSec',
      'sections.fleet.floor.best.createStartIsolated.perSec', 'sections.fleet.deploys.0.ratioToIsolatedFloor',
      'sections.fleet.deploys.0.ratioToCreateStartFloor', 'sections.fleet.fanout.ratioToStartFloor', 'sections.fleet.fanout.finalSuccess',
      // 13 scale (per level; quick: 5 and 10 instances)
      ...[0, 1].flatMap((i) => ['deploySequential.p50', 'deployToRoute.p50', 'wake.overheadVsApp200', 'traefik.rssMiB', 'spawner.rssMiB', 'getDeploy.p50'].map((k) => `sections.scale.${i}.${k}`)),
    ];
    const bad = numeric.filter((k) => {
      const v = at(r, k);
      return typeof v !== 'number' || !Number.isFinite(v);
    });
    expect(bad, 'paths without a finite number').toEqual([]);
    expect(at(r, 'sections.coldWake.nohc.wake.total.n')).toBe(3);
    expect(at(r, 'sections.coldWake.nohcCpus2.cpus')).toBe(2);
    expect(at(r, 'sections.coldWake.nohc.cpus')).toBe(0.5);
    expect(at(r, 'sections.fleet.fanout.finalSuccess')).toBe(at(r, 'sections.fleet.fanout.instances'));
    expect((r.targets as Array<{ id: string }>).map((t) => t.id)).toEqual(expect.arrayContaining(['fleetFanout', 'scaleDeploy', 'scaleOverhead']));
    expect((r.targets as unknown[]).length).toBeGreaterThan(0);

    // Nothing of the bench's run is left behind.
    const after = (await docker.listContainers({ all: true, filters: { label: [RUN_LABEL] } })).filter((c) => !before.has(c.Id));
    const ours = after.filter((c) => (c.Names[0] ?? '').includes(String(at(r, 'runId') ?? '\u0000')));
    expect(ours).toEqual([]);
  }, RUN_TIMEOUT_MS + 60_000);
});
