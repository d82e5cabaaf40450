/**
 * kill -9 of the spawner in the middle of a switch converges at restart to exactly one serving
 * container and a true revision record: killed while the new revision is being gated (not
 * committed: the new container goes, its revision is failed `interrupted`, the old one serves on),
 * and killed while the old container drains (committed: the old one goes, the new one serves).
 * Leftover switch routes are removed after that.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, login, startStack, type Stack } from './helpers/stack.js';
import { deploy, send, type Instance } from './helpers/lifecycle.js';
import { pollUntil } from './helpers/poll.js';
import { buildNoHealthcheckImage, containersOf, fileRouters, servedBy } from './helpers/switch-crash.js';

let stack: Stack;
let token: string;
let NOHC: string;

beforeAll(async () => {
  NOHC = buildNoHealthcheckImage('crash-nohc');
  stack = await startStack({ env: { SPAWNER_WAKE_DEADLINE_SEC: '60', SPAWNER_DRAIN_DEADLINE_SEC: '20' } });
  token = await login(stack);
}, 180_000);
afterAll(async () => {
  await stack?.teardown();
  await docker.getImage(NOHC).remove().catch(() => undefined);
});

const revisionsOf = async (name: string) => ((await api(stack, token, 'GET', `/deploy/${name}/revisions`)).body.revisions as Record<string, unknown>[]);

async function converged(inst: Instance, connstr: string, containerId: string | null) {
  await pollUntil('one container left', async () => {
    const cs = await containersOf(stack, inst.name);
    return cs.length === 1 && (containerId === null || cs[0]?.Id === containerId) ? true : undefined;
  }, { timeoutMs: 60_000 });
  await pollUntil('no switch route left', async () => ((await fileRouters(stack)).length === 0 ? true : undefined), { timeoutMs: 30_000 });
  await pollUntil(`served by ${connstr}`, async () => ((await servedBy(stack, inst)) === connstr ? true : undefined), { timeoutMs: 30_000 });
}

describe('kill -9 of the spawner mid-switch', () => {
  it('while gating the new revision: it is removed and failed "interrupted"; the old one keeps serving', async () => {
    const inst = await deploy(stack, token, 'cr-gate', { image: NOHC, envs: { IDLE: '0', CONNSTR: 'r1' } });
    await pollUntil('served', async () => ((await servedBy(stack, inst)) === 'r1' ? true : undefined));
    // The new revision boots slowly: the switch is at its gate when the spawner dies.
    const pending = api(stack, token, 'POST', '/deploy/cr-gate/revisions', { envs: { IDLE: '0', CONNSTR: 'r2', STARTUP_DELAY: '30s' } }).catch(() => null);
    await pollUntil('new container and switch route', async () => ((await containersOf(stack, 'cr-gate')).length === 2 && (await fileRouters(stack)).length > 0 ? true : undefined));
    await stack.restartSpawner('SIGKILL');
    await pending;
    await converged(inst, 'r1', inst.id);
    expect((await revisionsOf('cr-gate')).map((r) => [r.revision, r.status, r.failedStep])).toEqual([[2, 'failed', 'interrupted'], [1, 'active', null]]);
    expect((await api(stack, token, 'GET', '/deploy/cr-gate')).body).toMatchObject({ id: inst.id, revision: 1, status: 'running' });
  }, 180_000);

  it('while the old container drains: the switch is committed, the old one is removed, the new one serves', async () => {
    const inst = await deploy(stack, token, 'cr-drain', { image: NOHC, envs: { IDLE: '0', CONNSTR: 'r1' } });
    await pollUntil('served', async () => ((await servedBy(stack, inst)) === 'r1' ? true : undefined));
    // A slow request in flight on the old container keeps its drain going (20 s deadline).
    const slow = send(`${stack.web}/delay/15000`, { cookie: inst.cookie }, 30_000).catch(() => null);
    const pending = api(stack, token, 'POST', '/deploy/cr-drain/revisions', { envs: { IDLE: '0', CONNSTR: 'r2' } }).catch(() => null);
    await pollUntil('revision 2 committed while the old container still runs', async () => {
      const revs = await revisionsOf('cr-drain');
      const old = await docker.getContainer(inst.id).inspect().catch(() => null);
      return revs[0]?.revision === 2 && revs[0]?.status === 'active' && old?.State.Running ? true : undefined;
    });
    await stack.restartSpawner('SIGKILL');
    await Promise.all([pending, slow]);
    const newId = String((await api(stack, token, 'GET', '/deploy/cr-drain')).body.id);
    expect(newId).not.toBe(inst.id);
    await converged(inst, 'r2', newId);
    expect((await revisionsOf('cr-drain')).map((r) => [r.revision, r.status])).toEqual([[2, 'active'], [1, 'superseded']]);
  }, 180_000);
});
