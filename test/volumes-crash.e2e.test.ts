/**
 * kill -9 of the spawner during a deploy with a managed volume, on real Docker + Traefik: start-up
 * converges to the instance with its own volume, or to neither (no row, no container, and no
 * volume that this deploy made, since nothing ever mounted it).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, docker, inspectOrNull, type Stack } from './helpers/stack.js';
import { useStack } from './helpers/use-stack.js';
import { deploy } from './helpers/lifecycle.js';
import { IMAGES } from './helpers/docker-env.js';
import { pollUntil } from './helpers/poll.js';
import { instanceVolume, volumeOrNull } from './helpers/volumes.js';

const ctx = useStack({ env: { SPAWNER_RESCAN_SEC: '2' } });
let stack: Stack;
let token: string;
beforeAll(() => { ({ stack, token } = ctx); });

const volumeName = (name: string) => instanceVolume(stack, name);

describe('kill -9 during a deploy with a volume', () => {
  /** Kills the spawner the moment the engine reports `event` of `type` for `name`. */
  async function killOn(type: 'volume' | 'container', event: string, name: string): Promise<{ fired: Promise<void> }> {
    const filters = type === 'volume' ? { type: [type], event: [event], volume: [volumeName(name)] } : { type: [type], event: [event], label: [`spawner.instance=${name}`] };
    // getEvents resolves once the engine has the subscription: nothing can slip by after that.
    const stream = (await docker.getEvents({ filters })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    // Wrapped: an async function returning a promise would wait for it (the kill) itself.
    return {
      fired: (async () => {
        await new Promise<void>((resolve) => stream.once('data', () => resolve()));
        await stack.spawner.kill({ signal: 'SIGKILL' });
        stream.destroy();
      })(),
    };
  }

  it.each([['volume', 'create'], ['container', 'create']] as const)('on the %s %s event: the instance with its volume, or neither', async (type, event) => {
    const name = `crash-${type}`;
    const { fired } = await killOn(type, event, name);
    await Promise.all([api(stack, token, 'POST', '/deploy', { name, image: IMAGES.mockApp, volume: { path: '/data' } }).catch(() => undefined), fired]);
    await stack.startSpawner();
    const row = await api(stack, token, 'GET', `/deploy/${name}`);
    if (row.status === 200) {
      // Adopted (or finished): its container mounts its own volume, and the view says so.
      expect(row.body.volume).toEqual({ path: '/data', name: volumeName(name), status: 'attached' });
      expect((await docker.getContainer(String(row.body.id)).inspect()).Mounts.map((m) => m.Name)).toEqual([volumeName(name)]);
    } else {
      // The row was dropped: the volume that deploy made (never mounted) goes with it.
      expect(row.status).toBe(404);
      await pollUntil('no volume left', async () => ((await volumeOrNull(volumeName(name))) === null ? true : undefined), { timeoutMs: 20_000, intervalMs: 250 });
      expect(await inspectOrNull(`${stack.runId}-${name}`)).toBeNull();
    }
    console.log(`kill -9 on the ${type} ${event} event: ${row.status === 200 ? `instance kept (${String(row.body.status)})` : 'neither'}`);
  });
});

describe('a deploy cut short between its volume and its container', () => {
  it('the rescan at start-up drops the row and the volume that deploy made (nothing ever mounted it)', async () => {
    const inst = await deploy(stack, token, 'unborn', { volume: { path: '/data' } });
    await stack.restartSpawner('SIGKILL', {
      // What a kill right after the volume's creation leaves: the row without a container id, no container.
      whileStopped: async () => {
        await docker.getContainer(inst.id).remove({ force: true });
        const sql = "UPDATE instances SET container_id = NULL WHERE name = 'unborn'";
        const c = await docker.createContainer({
          Image: IMAGES.spawner, WorkingDir: '/app', Labels: { 'spawner-test.run': stack.runId },
          Entrypoint: ['node'], Cmd: ['-e', `new (require('better-sqlite3'))('/data/spawner.db').prepare(${JSON.stringify(sql)}).run()`],
          HostConfig: { NetworkMode: 'none', Binds: [`${stack.network}-data:/data`] },
        });
        await c.start();
        expect((await c.wait()).StatusCode).toBe(0);
        await c.remove();
      },
    });
    await pollUntil('row dropped', async () => ((await api(stack, token, 'GET', '/deploy/unborn')).status === 404 ? true : undefined), { timeoutMs: 20_000, intervalMs: 250 });
    await pollUntil('volume removed', async () => ((await volumeOrNull(volumeName('unborn'))) === null ? true : undefined), { timeoutMs: 20_000, intervalMs: 250 });
  });
});

