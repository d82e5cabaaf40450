/**
 * Fleet rollouts on real Docker and Traefik: canary then waves through the redeploy gate and
 * switch; a sleeping instance is moved without being woken (deferred) and starts the new image at
 * its next wake; an instance outside the selector is untouched; a target that cannot be pulled
 * fails the rollout before any instance moves; a spawner killed mid-rollout resumes it at restart
 * and upgrades every instance exactly once. The CLI shows the same progress.
 * Parameterised by runtime (helpers/runtime-view.ts): CI's one-node swarm part runs it with
 * E2E_RUNTIME=swarm.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, login, type Stack } from './helpers/stack.js';
import { startRuntimeStack, teardownRuntimeStack } from './helpers/runtime-view.js';
import { IMAGES } from './helpers/docker-env.js';
import { deploy, followToApp, fromApp, statusOf, waitReachable, type Instance } from './helpers/lifecycle.js';
import { pollUntil } from './helpers/poll.js';

const CLI = fileURLToPath(new URL('../spawner/dist/cli.js', import.meta.url));
const run = promisify(execFile);
const V1 = IMAGES.mockApp;
const V2 = IMAGES.mockAppAlt;
const SELECTOR = `${V1.slice(0, V1.lastIndexOf(':'))}:*`;

let stack: Stack;
let token: string;

beforeAll(async () => {
  ({ stack, token } = await startRuntimeStack({
    env: { SPAWNER_ALLOWED_IMAGES: 'mock-app:*,127.0.0.1:1/*', SPAWNER_WAKE_DEADLINE_SEC: '30', SPAWNER_DRAIN_DEADLINE_SEC: '5' },
  }));
}, 180_000);
afterAll(async () => { await teardownRuntimeStack(stack, 'rollouts'); }, 180_000);

interface Item { instance: string; wave: number; status: string; fromRevision: number | null; toRevision: number | null; reason: string | null }
interface Rollout { id: number; status: string; reason: string | null; counts: Record<string, number>; instances: Item[] }

async function waitRollout(id: number, statuses: string[], timeoutMs = 180_000): Promise<Rollout> {
  return pollUntil(`rollout ${id} ${statuses.join('|')}`, async () => {
    const r = (await api(stack, token, 'GET', `/rollouts/${id}`)).body as Rollout;
    return statuses.includes(r.status) ? r : undefined;
  }, { timeoutMs, intervalMs: 250 });
}

async function revisionsOf(name: string): Promise<{ revision: number; status: string; image: string; createdBy: string }[]> {
  const r = await api(stack, token, 'GET', `/deploy/${name}/revisions`);
  expect(r.status).toBe(200);
  return r.body.revisions;
}

async function deployRunning(name: string): Promise<Instance> {
  const inst = await deploy(stack, token, name);
  await waitReachable(stack, inst, 60_000);
  return inst;
}

describe('a fleet rollout', () => {
  it('upgrades the canary, then a wave; defers the sleeping instance; leaves the unselected one alone', async () => {
    const [a, b] = [await deployRunning('ro-a'), await deployRunning('ro-b')];
    const c = await deploy(stack, token, 'ro-c');
    expect((await api(stack, token, 'POST', '/deploy/ro-c/stop')).status).toBe(200);
    await deploy(stack, token, 'other-1');

    const created = await api(stack, token, 'POST', '/rollouts', {
      selector: { image: SELECTOR, name: 'ro-*' }, target: { image: V2 }, canary: 1, waveSize: 2, waveDelaySec: 1,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const done = await waitRollout(created.body.id, ['done', 'paused', 'failed']);
    expect(done.status, JSON.stringify(done)).toBe('done');
    expect(done.instances.map((i) => [i.instance, i.wave, i.status])).toEqual([
      ['ro-a', 0, 'upgraded'], ['ro-b', 1, 'upgraded'], ['ro-c', 1, 'deferred'],
    ]);
    expect(done.counts).toMatchObject({ upgraded: 2, deferred: 1, failed: 0 });

    for (const inst of [a, b]) {
      const view = (await api(stack, token, 'GET', `/deploy/${inst.name}`)).body;
      expect(view).toMatchObject({ image: V2, status: 'running' });
      expect((await revisionsOf(inst.name)).find((r) => r.status === 'active')).toMatchObject({ revision: 2, image: V2, createdBy: stack.user.username });
      // Same cookie, new revision: the user keeps reaching their instance.
      expect(fromApp((await followToApp(stack, inst, '/')).final, inst)).toBe(true);
    }
    // Not woken by the rollout: its new container is created, not started; its next wake starts it.
    expect(await statusOf(stack, token, 'ro-c')).toBe('created');
    expect((await api(stack, token, 'GET', '/deploy/ro-c')).body.image).toBe(V2);
    expect(fromApp((await followToApp(stack, c, '/')).final, c)).toBe(true);
    expect((await api(stack, token, 'GET', '/deploy/ro-c')).body).toMatchObject({ image: V2, status: 'running' });

    const other = (await api(stack, token, 'GET', '/deploy/other-1')).body;
    expect(other.image).toBe(V1);
    expect((await revisionsOf('other-1')).map((r) => r.revision)).toEqual([1]);

    const shown = await run(process.execPath, [CLI, 'rollout', 'show', String(done.id), '--api', stack.api, '--token', token]);
    expect(shown.stdout).toContain(`rollout ${done.id}: done`);
    expect(shown.stdout).toMatch(/ro-c\t1\tdeferred\t1\t2/);
  });

  it('fails before touching any instance when the target cannot be pulled', async () => {
    await deployRunning('pull-a');
    // 127.0.0.1:1 refuses at once: the pull fails fast and never leaves this machine.
    const created = await api(stack, token, 'POST', '/rollouts', { selector: { image: SELECTOR, name: 'pull-*' }, target: { image: '127.0.0.1:1/missing:1' } });
    expect(created.status).toBe(202);
    const failed = await waitRollout(created.body.id, ['failed', 'done']);
    expect(failed.status).toBe('failed');
    expect(failed.reason).toContain('target image');
    expect(failed.instances.every((i) => i.status === 'pending')).toBe(true);
    expect((await revisionsOf('pull-a')).map((r) => r.revision)).toEqual([1]);
  });

  it('refuses a selector that matches nothing and a second rollout over an unfinished one', async () => {
    const none = await api(stack, token, 'POST', '/rollouts', { selector: { image: 'nothing:*' }, target: { image: V2 } });
    expect(none.status).toBe(422);
    expect(none.body).toMatchObject({ code: 'selector_empty', field: 'selector' });
    await deployRunning('busy-a');
    const first = await api(stack, token, 'POST', '/rollouts', { selector: { image: SELECTOR, name: 'busy-*' }, target: { image: V2 }, canary: 0 });
    expect(first.status).toBe(202);
    const second = await api(stack, token, 'POST', '/rollouts', { selector: { image: SELECTOR, name: 'busy-*' }, target: { image: V2 } });
    // Either the first is still going (409) or it already finished (then the image no longer matches v1 only).
    if (second.status === 409) expect(second.body.code).toBe('conflict');
    await waitRollout(first.body.id, ['done']);
  });

  it('resumes after the spawner is killed mid-rollout, upgrading every instance exactly once', async () => {
    for (const n of ['kr-a', 'kr-b', 'kr-c']) await deployRunning(n);
    const created = await api(stack, token, 'POST', '/rollouts', {
      selector: { image: SELECTOR, name: 'kr-*' }, target: { image: V2 }, canary: 1, waveSize: 1, waveDelaySec: 4,
    });
    expect(created.status).toBe(202);
    // Killed while the rollout waits between the canary and the next wave.
    await pollUntil('canary upgraded', async () => {
      const r = (await api(stack, token, 'GET', `/rollouts/${created.body.id}`)).body as Rollout;
      return r.instances[0]?.status === 'upgraded' ? true : undefined;
    }, { timeoutMs: 120_000, intervalMs: 200 });
    await stack.restartSpawner('SIGKILL');
    token = await login(stack);
    const done = await waitRollout(created.body.id, ['done', 'paused', 'failed']);
    expect(done.status, JSON.stringify(done)).toBe('done');
    for (const n of ['kr-a', 'kr-b', 'kr-c']) {
      const revs = await revisionsOf(n);
      expect(revs.map((r) => [r.revision, r.status]), n).toEqual([[2, 'active'], [1, 'superseded']]);
      expect((await api(stack, token, 'GET', `/deploy/${n}`)).body).toMatchObject({ image: V2, status: 'running' });
    }
  });
});
