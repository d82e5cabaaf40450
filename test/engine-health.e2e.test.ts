/**
 * The engine-dependent path of a create, on whichever engine the suite runs against (scripts/test.sh
 * runs the suite on Debian's 20.10, API 1.41, and on the current engine, API 1.56):
 * - the spawner says at start-up which path it takes ('docker engine': apiVersion, healthStartInterval);
 * - an instance of a HEALTHCHECK image carries the health StartInterval (healthStartIntervalMs, default 50 ms) exactly when the
 *   engine has API >= 1.44, and otherwise the image's own HEALTHCHECK unchanged;
 * - with it, Docker's first passing check comes soon after start; without it, not before the
 *   image's 2 s interval (mock-app: --interval=2s). Both read from Docker's own health log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, login, startStack, type Stack } from './helpers/stack.js';
import { IMAGES } from './helpers/docker-env.js';
import { deploy, waitLogLine } from './helpers/lifecycle.js';
import { pollUntil } from './helpers/poll.js';

let stack: Stack;
let token: string;
let apiVersion: string;
let hasStartInterval: boolean;

beforeAll(async () => {
  apiVersion = String((await docker.version()).ApiVersion);
  const [major = 0, minor = 0] = apiVersion.split('.').map(Number);
  hasStartInterval = major > 1 || minor >= 44;
  stack = await startStack();
  token = await login(stack);
});

afterAll(async () => { await stack?.teardown(); });

describe('health StartInterval by engine API version', () => {
  it('the spawner logs the path it takes for this engine\'s API version', async () => {
    const line = await waitLogLine(stack, 0, 'docker engine', { apiVersion });
    expect(line.healthStartInterval).toBe(hasStartInterval);
    expect(String(line.path)).toContain(`API ${apiVersion} ${hasStartInterval ? '>=' : '<'} 1.44`);
  });

  it('an instance gets the StartInterval exactly on API >= 1.44, and its first passing check comes accordingly', async () => {
    const image = (await docker.getImage(IMAGES.mockApp).inspect()).Config.Healthcheck as Record<string, unknown>;
    expect(image?.Interval).toBe(2_000_000_000); // the premise of the timing below
    const inst = await deploy(stack, token, 'hc-path');
    const created = await docker.getContainer(inst.id).inspect();
    const hc = created.Config.Healthcheck as Record<string, unknown> | undefined;
    if (hasStartInterval) expect(hc).toEqual({ ...image, StartInterval: 50_000_000 });
    else expect(hc).toEqual(image);

    const state = await pollUntil('healthy', async () => {
      const s = (await docker.getContainer(inst.id).inspect()).State;
      return s.Health?.Status === 'healthy' ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    const firstPass = state.Health!.Log.find((l) => l.ExitCode === 0)!;
    const ms = Date.parse(firstPass.End) - Date.parse(state.StartedAt);
    console.log(`[engine-health] API ${apiVersion}: first passing health check ${ms} ms after start (StartInterval ${hasStartInterval ? "50 ms" : "none"})`);
    // A check cannot pass before one interval without the StartInterval; with it, the app's own
    // start (~0.3 s here) plus up to 100 ms, with room for a loaded machine.
    if (hasStartInterval) expect(ms).toBeLessThan(1_500);
    else expect(ms).toBeGreaterThanOrEqual(1_900);
  });
});
