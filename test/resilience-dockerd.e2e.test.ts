/**
 * A real Docker daemon restart while the spawner runs. This stops (or, with live-restore, at
 * least disconnects) EVERY container on the engine, so it only runs when asked for:
 *
 *   SPAWNER_E2E_RESTART_DOCKERD=1 npx vitest run --project e2e test/resilience-dockerd.e2e.test.ts
 *
 * CI sets it (a machine of its own). Without it the test is reported as SKIPPED, not passed.
 * The daemon is restarted with $SPAWNER_E2E_DOCKERD_RESTART_CMD when set (e.g. `systemctl restart
 * docker`), else by SIGTERM to the pid in /var/run/docker.pid and scripts/ensure-docker.sh (how
 * CI started it).
 *
 * The stack mounts the socket's DIRECTORY (a daemon restart replaces the socket file; a bind
 * mount of the file would keep pointing at the dead one) and uses restart policy unless-stopped,
 * so both daemon set-ups are covered:
 * - live-restore: containers keep running; the spawner's event stream reconnects (capped backoff)
 *   and rescans, in the same process;
 * - no live-restore: everything stops; Traefik and the spawner come back with the daemon, the
 *   instances stay stopped (status exited) and wake on the next request.
 * Either way afterwards: outside changes are recorded as external_* again, and a wake works.
 * The reconnect logic itself is also covered without restarting the engine:
 * resilience-docker-reconnect.e2e.test.ts (socket proxy) and runtime/docker-reconnect.test.ts.
 */
import { execFileSync, execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { api, docker, ENGINE_SOCKET, login, spawnerLogs, startStack, type Stack } from './helpers/stack.js';
import { pollUntil } from './helpers/poll.js';
import {
  deploy, eventsOf, followToApp, fromApp, statusOf, waitLogLine, waitReachable,
} from './helpers/lifecycle.js';

const ENABLED = process.env.SPAWNER_E2E_RESTART_DOCKERD === '1';
const REPO = new URL('..', import.meta.url).pathname;

async function restartDockerd(): Promise<void> {
  const cmd = process.env.SPAWNER_E2E_DOCKERD_RESTART_CMD;
  if (cmd) {
    execSync(cmd, { stdio: 'inherit', timeout: 120_000 });
  } else {
    const pid = Number(readFileSync('/var/run/docker.pid', 'utf8').trim());
    process.kill(pid, 'SIGTERM');
    await pollUntil('dockerd exited', async () => {
      try { process.kill(pid, 0); return undefined; } catch { return true; }
    }, { timeoutMs: 60_000, intervalMs: 200 });
    execFileSync(`${REPO}scripts/ensure-docker.sh`, { stdio: 'inherit', timeout: 120_000 });
  }
  await pollUntil('engine answers', async () => { await docker.ping(); return true; }, { timeoutMs: 60_000, intervalMs: 250 });
}

describe('Docker daemon restart while the spawner runs', () => {
  it.skipIf(!ENABLED)('reconnects (or comes back), stays true to Docker, and wakes work afterwards', async () => {
    const dir = dirname(ENGINE_SOCKET);
    const stack: Stack = await startStack({ spawnerDockerDir: dir, traefikDockerDir: dir, restartPolicy: 'unless-stopped' });
    try {
      let token = await login(stack);
      const a = await deploy(stack, token, 'dd-a', { idleTimeout: 0 });
      const b = await deploy(stack, token, 'dd-b', { idleTimeout: 0 });
      await waitReachable(stack, a);
      await waitReachable(stack, b);
      expect((await api(stack, token, 'POST', `/deploy/${b.name}/stop`)).body.status).toBe('exited');
      const spawnerStarted = (await stack.spawner.inspect()).State.StartedAt;

      const t0 = Date.now();
      await restartDockerd();
      const restartMs = Date.now() - t0;
      await pollUntil('stack answers again', async () => { await stack.republish(); return true; }, { timeoutMs: 90_000, intervalMs: 500 });
      token = await login(stack);
      const sameProcess = (await stack.spawner.inspect()).State.StartedAt === spawnerStarted;
      const aRunning = (await docker.getContainer(a.id).inspect()).State.Running;
      console.log(`[dockerd] daemon restarted in ${restartMs} ms; spawner ${sameProcess ? 'kept running (live-restore)' : 'was restarted with the daemon'}; instance a ${aRunning ? 'running' : 'stopped'}`);

      if (sameProcess) {
        // The same process saw the stream break and reconnected (then rescanned).
        await waitLogLine(stack, t0, 'docker event stream interrupted; reconnecting');
        await waitLogLine(stack, t0, 'docker event stream connected; rescanning', {}, { timeoutMs: 30_000 });
      }
      // The store reflects Docker as it is now.
      expect(await statusOf(stack, token, a.name)).toBe(aRunning ? 'running' : 'exited');
      expect(await statusOf(stack, token, b.name)).toBe('exited');

      // The event stream is live: an outside change is recorded as external.
      const tChange = Date.now();
      const c = docker.getContainer(a.id);
      if (aRunning) await c.stop({ t: 5 }); else await c.start();
      const kind = aRunning ? 'external_stop' : 'external_start';
      await pollUntil(`${kind} recorded`, async () =>
        (await eventsOf(stack, token, a.name)).find((e) => e.kind === kind && e.at >= tChange - 1_000), { timeoutMs: 30_000, intervalMs: 200 });

      // And wakes work end to end.
      const woke = await followToApp(stack, b, '/after-dockerd-restart');
      expect(fromApp(woke.final, b), `${woke.final.status} ${woke.final.body.slice(0, 200)}`).toBe(true);
    } catch (err) {
      console.log(await spawnerLogs(stack).catch(() => 'no logs'));
      throw err;
    } finally {
      await stack.teardown();
    }
  });
});
