/**
 * The spawner process dies or is stopped in the middle of a wake:
 * - `kill -9` shortly after a request for a stopped instance reached it: after a restart the
 *   state is consistent (the row is there, the one container is running or stopped, nothing is
 *   duplicated or orphaned) and a new wake works end to end;
 * - SIGTERM with a wake in flight: the process finishes the wake, exits 0 well within the grace
 *   period (measured), and the restarted spawner works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, login, spawnerLogs, startStack, type Stack } from './helpers/stack.js';
import { pollUntil } from './helpers/poll.js';
import {
  deploy, followToApp, fromApp, pause, send, spawnerLogSince, statusOf, waitLogLine, waitReachable, type Answer, type Instance,
} from './helpers/lifecycle.js';

const GRACE_SEC = 10;

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack({ env: { SPAWNER_SHUTDOWN_GRACE_SEC: String(GRACE_SEC) } });
  token = await login(stack);
});

afterAll(async () => {
  if (stack) {
    if (process.env.E2E_DEBUG) console.log(await spawnerLogs(stack));
    await stack.teardown();
  }
});

async function stopViaApi(name: string): Promise<void> {
  const r = await api(stack, token, 'POST', `/deploy/${name}/stop`);
  if (r.status !== 200 || r.body.status !== 'exited') throw new Error(`stop ${name}: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Our containers for this instance name, whatever their state. */
async function containersOf(name: string) {
  return docker.listContainers({ all: true, filters: { label: [`spawner.id=${stack.spawnerId}`, `spawner.instance=${name}`] } });
}

/** A wake request that has reached the listener, answered (or cut off) later. */
function wakeRequest(inst: Instance): Promise<Answer | Error> {
  return send(`${stack.wake}/during-restart`, { cookie: inst.cookie }, 30_000).catch((e: Error) => e);
}

/** A test that failed half-way may leave the spawner stopped: start it for the next one. */
async function ensureSpawnerUp(): Promise<void> {
  if (!(await stack.spawner.inspect()).State.Running) await stack.startSpawner();
}

async function loginAgain(): Promise<void> {
  token = await login(stack); // tokens live in the database: the same token would do, this is simpler
}

describe('spawner restarts during a wake', () => {
  it.each([50, 250, 600])('kill -9 %i ms into a wake: consistent state after restart, and a new wake works', async (delayMs) => {
    await ensureSpawnerUp();
    const tA = Date.now();
    const inst = await deploy(stack, token, `kill-${delayMs}`);
    await waitReachable(stack, inst);
    await stopViaApi(inst.name);

    const t0 = Date.now();
    const pending = wakeRequest(inst);
    await pause(t0 + delayMs - Date.now());
    const killedAfter = Date.now() - t0;
    await stack.spawner.kill({ signal: 'SIGKILL' });
    const cut = await pending;
    const tB = Date.now();
    await stack.startSpawner();
    await loginAgain();
    const restartMs = Date.now() - tB;

    const view = await api(stack, token, 'GET', `/deploy/${inst.name}`);
    expect(view.status).toBe(200);
    expect(['running', 'exited']).toContain(view.body.status);
    expect(view.body.id).toBe(inst.id);
    const mine = await containersOf(inst.name);
    expect(mine.map((c) => c.Id)).toEqual([inst.id]);
    const list = await api(stack, token, 'GET', '/deploy');
    expect(list.body.instances.filter((i: { name: string }) => i.name === inst.name)).toHaveLength(1);
    const back = await followToApp(stack, inst, '/after-kill');
    console.log(`[restart] kill -9 sent ${killedAfter} ms into the wake: in-flight request ${cut instanceof Error ? `cut (${cut.message})` : cut.status}; `
      + `after restart (${restartMs} ms to healthz) the container was ${view.body.status}; next wake ${back.ms} ms (${back.hops} hops); test setup ${t0 - tA} ms`);
    expect(fromApp(back.final, inst), `${back.final.status} ${back.final.body.slice(0, 200)}`).toBe(true);
    expect(await statusOf(stack, token, inst.name)).toBe('running');
  });

  it('SIGTERM with a wake in flight: the wake finishes, the process exits 0 within the grace period, the restarted spawner works', async () => {
    await ensureSpawnerUp();
    const inst = await deploy(stack, token, 'term-a');
    await waitReachable(stack, inst);
    await stopViaApi(inst.name);

    const t0 = Date.now();
    let answeredAt = 0;
    const pending = wakeRequest(inst).then((a) => { answeredAt = Date.now(); return a; });
    await pause(t0 + 100 - Date.now());
    const tTerm = Date.now();
    await stack.spawner.kill({ signal: 'SIGTERM' });
    const exit = await stack.spawner.wait();
    const exitMs = Date.now() - tTerm;
    const answer = await pending;
    const logs = await spawnerLogSince(stack, t0);
    console.log(`[restart] SIGTERM ${tTerm - t0} ms into a wake: exit code ${exit.StatusCode} after ${exitMs} ms (grace ${GRACE_SEC * 1000} ms); `
      + `in-flight wake answered ${answer instanceof Error ? answer.message : answer.status} ${answeredAt - tTerm} ms after SIGTERM`);
    expect(exit.StatusCode).toBe(0);
    expect(exitMs).toBeLessThan(GRACE_SEC * 1000);
    // Done as soon as the in-flight work is, not at the end of the grace period. By the spawner's
    // own clock (its log): what follows its exit is Docker's, and takes seconds on a loaded 20.10.
    const drainedMs = Number(/"msg":"in-flight work finished","ms":(\d+)/.exec(logs)?.[1]);
    expect(drainedMs).toBeLessThan(answeredAt - tTerm + 1_000);
    // Finished, not cut off: the client got its redirect before the process went away.
    expect(answer instanceof Error ? answer.message : answer.status).toBe(307);
    expect(logs).toContain('"msg":"in-flight work finished"');
    expect(logs).toContain('"msg":"stopped"');

    await stack.startSpawner();
    await loginAgain();
    expect(await statusOf(stack, token, inst.name)).toBe('running');
    const back = await followToApp(stack, inst, '/after-term');
    expect(fromApp(back.final, inst)).toBe(true);
    // And a full cycle on the restarted spawner: stop, wake through Traefik.
    await stopViaApi(inst.name);
    const again = await followToApp(stack, inst, '/again');
    expect(fromApp(again.final, inst)).toBe(true);
    expect(again.hops).toBeGreaterThanOrEqual(1);
  });

  it('SIGTERM when idle exits promptly', async () => {
    await ensureSpawnerUp();
    const t0 = Date.now();
    await stack.spawner.kill({ signal: 'SIGTERM' });
    const exit = await stack.spawner.wait();
    const ms = Date.now() - t0;
    console.log(`[restart] SIGTERM with nothing in flight: exit code ${exit.StatusCode} after ${ms} ms`);
    expect(exit.StatusCode).toBe(0);
    expect(ms).toBeLessThan(2_000);
    await stack.startSpawner();
    await waitLogLine(stack, t0, 'spawner started');
    await pollUntil('deploy API answers', async () => ((await api(stack, token, 'GET', '/deploy')).status === 200 ? true : undefined));
  });
});
