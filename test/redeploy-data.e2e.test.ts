/**
 * What a redeploy does to an instance's data, on real Docker: the managed volume is mounted into
 * the new revision's container (its files are still there), the old container's writable layer
 * is not (a file written outside the volume is gone), with start-first and with stop-first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, login, startStack, type Stack } from './helpers/stack.js';
import { IMAGES } from './helpers/docker-env.js';
import { execOut } from './helpers/exec.js';

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack();
  token = await login(stack);
}, 120_000);
afterAll(async () => { await stack?.teardown(); });

const idOf = async (name: string) => String((await api(stack, token, 'GET', `/deploy/${name}`)).body.id);
const sh = async (name: string, script: string) => execOut(docker.getContainer(await idOf(name)), ['sh', '-c', script], undefined, 'node');

describe('data across revisions', () => {
  for (const strategy of ['start-first', 'stop-first'] as const) {
    it(`${strategy}: the volume's files are in the new container, the old writable layer's are not`, async () => {
      const name = `rd-data-${strategy === 'start-first' ? 'sf' : 'st'}`;
      const r = await api(stack, token, 'POST', '/deploy?wait=true', { name, image: IMAGES.mockApp, envs: { IDLE: '0' }, volume: { path: '/data' } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect((await sh(name, 'echo kept > /data/note.txt && echo lost > /tmp/scratch.txt')).code).toBe(0);
      const rd = await api(stack, token, 'POST', `/deploy/${name}/revisions`, { image: IMAGES.mockAppAlt, strategy });
      expect(rd.status, JSON.stringify(rd.body)).toBe(200);
      expect(rd.body.revision).toMatchObject({ revision: 2, status: 'active', volume: { path: '/data' } });
      expect((await sh(name, 'cat /data/note.txt')).stdout.trim()).toBe('kept');
      expect((await sh(name, 'cat /tmp/scratch.txt')).code).not.toBe(0);
      const info = await docker.getContainer(await idOf(name)).inspect();
      expect(info.Mounts.map((m) => [m.Type, m.Destination])).toEqual([['volume', '/data']]);
    }, 120_000);
  }
});
