/**
 * Smoke test of the bench's swarm section: `scripts/bench-swarm.ts --quick` as a child process on
 * the real one-node swarm (CI's swarm part; SKIPPED, with the reason in its name, off a manager).
 * It asserts that the run completes without a failed section, that every figure is a number, that
 * the storm caused one wake and one task, and that it leaves no service, container or network
 * behind. No timing is asserted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScript } from './helpers/script.js';
import { docker } from './helpers/stack.js';
import { swarmManager } from './helpers/swarm.js';
import type { SwarmBenchResult } from '../scripts/bench/report-swarm.js';

const out = mkdtempSync(join(tmpdir(), 'bench-swarm-'));
const RUN_TIMEOUT_MS = 6 * 60_000; // ~90 s on the 2-CPU machine
afterAll(() => rmSync(out, { recursive: true, force: true }));

const skipReason = await swarmManager();

/** Names of what is on the engine now: services, containers (all states) and networks. */
const names = async () => [
  ...(await docker.listServices()).map((s) => `service ${s.Spec?.Name ?? ''}`),
  ...(await docker.listContainers({ all: true })).map((c) => `container ${(c.Names[0] ?? '').replace(/^\//, '')}`),
  ...(await docker.listNetworks()).map((n) => `network ${n.Name}`),
];

describe.skipIf(skipReason !== null)(`bench-swarm --quick (real swarm + Traefik)${skipReason ? ` (SKIPPED: ${skipReason})` : ''}`, () => {
  it('completes, measures every figure, one wake for the storm, and leaves nothing behind', async () => {
    const run = await runScript('scripts/bench-swarm.ts', ['--quick', '--out', out, '--refresh', '1,2', '--load-levels', '0,10'], RUN_TIMEOUT_MS);
    expect(run.code, run.stderr.slice(-4000)).toBe(0);
    expect(run.stdout).toContain('| cold wake: first request → the app\'s 200 through Traefik |');
    const r = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as SwarmBenchResult;
    expect(r).toMatchObject({ schema: 'spawner-bench-swarm/1', mode: 'quick', nodes: 1, errors: {} });
    const numbers = [
      r.pairs?.floor.toRunning.p50, r.pairs?.floor.toApp200.p50, r.pairs?.floor.toRoute.p50, r.pairs?.routeAfterRunning.p50,
      r.pairs?.wake.p50, r.pairs?.overMs, r.storm?.allDoneMs,
      ...['1', '2'].flatMap((k) => [r.byRefresh[k]?.routeAfterRunning.p50, r.byRefresh[k]?.wake.p50]),
      ...(r.load ?? []).flatMap((l) => [l.cpuPercent.dockerd, l.cpuPercent.traefik, l.serviceList.p50]),
    ];
    expect(numbers.filter((v) => typeof v !== 'number' || !Number.isFinite(v)), JSON.stringify(r).slice(0, 2000)).toEqual([]);
    expect(r.pairs?.wake.n).toBe(3);
    expect(r.load?.map((l) => l.services)).toEqual([0, 10]);
    expect(r.storm).toMatchObject({ clients: 200, atApp: 200, wakeEvents: 1, tasks: 1 });
    // Every name the bench gave starts with one of its stacks' run ids (the spawner's prefix).
    expect(r.runIds).toHaveLength(2);
    // A removed service's task container goes a moment after its task (Swarm removes it itself).
    await expect.poll(async () => (await names()).filter((n) => r.runIds.some((id) => n.includes(id))), { timeout: 30_000, interval: 500 }).toEqual([]);
  }, RUN_TIMEOUT_MS + 60_000);
});
