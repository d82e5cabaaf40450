/**
 * kill -9 of the spawner at the other steps of a start-first switch (redeploy-crash.e2e covers the
 * gate and the drain): once the switch route pins the old container, once the new container
 * exists, and once the switch route points at the new container (the commit follows within
 * milliseconds, so the kill lands just before or just after it). Whichever side of the commit the
 * kill lands on, the restart converges to the same invariants: one container, no switch route,
 * the active revision is the container that is left and the one that answers, every other
 * revision superseded or failed `interrupted`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, login, startStack, type Stack } from './helpers/stack.js';
import { deploy } from './helpers/lifecycle.js';
import { pollUntil } from './helpers/poll.js';
import { buildNoHealthcheckImage, containersOf, fileRouters, servedBy } from './helpers/switch-crash.js';

let stack: Stack;
let token: string;
let dynamicDir: string;
let NOHC: string;

beforeAll(async () => {
  NOHC = buildNoHealthcheckImage('steps-nohc');
  stack = await startStack({ env: { SPAWNER_WAKE_DEADLINE_SEC: '60', SPAWNER_DRAIN_DEADLINE_SEC: '5' } });
  token = await login(stack);
  // The switch files as the spawner writes them (the volume Traefik's file provider reads).
  dynamicDir = String((await docker.getVolume(`${stack.network}-dynamic`).inspect()).Mountpoint);
}, 180_000);
afterAll(async () => {
  await stack?.teardown();
  await docker.getImage(NOHC).remove().catch(() => undefined);
});


/** The server URL the instance's switch route serves, or null while there is no switch file. */
async function switchTarget(name: string): Promise<string | null> {
  const text = await readFile(join(dynamicDir, `spawner-switch-${name}.yml`), 'utf8').catch(() => null);
  if (!text) return null;
  const cfg = JSON.parse(text) as { http: { services: Record<string, { loadBalancer: { servers: { url: string }[] } }> } };
  return cfg.http.services[`spawner-switch-${name}`]?.loadBalancer.servers[0]?.url ?? null;
}

/** Redeploys `name` (r1 → r2), kills the spawner when `when` says so, restarts it; checks the invariants. */
async function killWhen(name: string, when: (oldHost: string) => Promise<boolean>): Promise<void> {
  const inst = await deploy(stack, token, name, { image: NOHC, envs: { IDLE: '0', CONNSTR: 'r1' } });
  await pollUntil('served', async () => ((await servedBy(stack, inst)) === 'r1' ? true : undefined), { timeoutMs: 60_000 });
  const old = await docker.getContainer(inst.id).inspect();
  const oldIp = Object.values(old.NetworkSettings.Networks)[0]?.IPAddress ?? '';
  const oldHost = `//${oldIp}:`;
  const pending = api(stack, token, 'POST', `/deploy/${name}/revisions`, { envs: { IDLE: '0', CONNSTR: 'r2' } }).catch(() => null);
  await pollUntil(`${name}: the step to kill at`, async () => ((await when(oldHost)) ? true : undefined), { timeoutMs: 60_000, intervalMs: 2 });
  await stack.restartSpawner('SIGKILL');
  await pending;

  await pollUntil('one container left, no switch route', async () => (
    (await containersOf(stack, name)).length === 1 && (await fileRouters(stack)).length === 0 ? true : undefined
  ), { timeoutMs: 60_000 });
  const [left] = await containersOf(stack, name);
  const view = (await api(stack, token, 'GET', `/deploy/${name}`)).body;
  const revisions = (await api(stack, token, 'GET', `/deploy/${name}/revisions`)).body.revisions as { revision: number; status: string; failedStep: string | null; containerId: string | null }[];
  const active = revisions.filter((r) => r.status === 'active');
  expect(active, JSON.stringify(revisions)).toHaveLength(1);
  expect(active[0]?.containerId).toBe(left?.Id);
  expect(view).toMatchObject({ id: left?.Id, revision: active[0]?.revision });
  for (const r of revisions.filter((x) => x.status !== 'active')) {
    expect([r.status, r.failedStep], JSON.stringify(r)).toEqual(r.status === 'failed' ? ['failed', 'interrupted'] : ['superseded', null]);
  }
  const expected = active[0]?.revision === 2 ? 'r2' : 'r1';
  await pollUntil(`served by ${expected}`, async () => ((await servedBy(stack, inst)) === expected ? true : undefined), { timeoutMs: 60_000 });
}

describe('kill -9 of the spawner at each remaining step of a switch', () => {
  it('once the switch route pins the old container (before the new one exists)', async () => {
    await killWhen('cs-route', async (oldHost) => (await switchTarget('cs-route'))?.includes(oldHost) === true);
  }, 240_000);

  it('once the new container exists (created or starting)', async () => {
    await killWhen('cs-create', async () => (await containersOf(stack, 'cs-create')).length === 2);
  }, 240_000);

  it('once the switch route points at the new container (around the commit)', async () => {
    await killWhen('cs-switch', async (oldHost) => {
      const target = await switchTarget('cs-switch');
      return target !== null && !target.includes(oldHost);
    });
  }, 240_000);
});
