/**
 * DockerRuntime.create's engine-dependent part, with a fake dockerode: what reaches the engine on
 * an old (API 1.41) and a current (API 1.56) engine, and that an engine which did not answer the
 * version read is asked again (not remembered as "no version" for the process' lifetime).
 */
import type Docker from 'dockerode';
import { describe, expect, it, vi } from 'vitest';
import { DockerRuntime } from './docker.js';
import type { ContainerSpec } from './types.js';

const IMAGE_HC = { Test: ['CMD', 'node', 'dist/healthcheck.js'], Interval: 2_000_000_000, StartPeriod: 30_000_000_000 };

function fakeDocker(version: () => Promise<{ ApiVersion: string }>, imageHc: unknown = IMAGE_HC) {
  const created: Record<string, unknown>[] = [];
  const docker = {
    version: vi.fn(version),
    getImage: () => ({ inspect: async () => ({ Config: { Healthcheck: imageHc } }) }),
    createContainer: vi.fn(async (opts: Record<string, unknown>) => {
      created.push(opts);
      return { id: `id${created.length}` };
    }),
  };
  return { docker: docker as unknown as Docker, created, version: docker.version };
}

const spec: ContainerSpec = {
  name: 'spawner-a', image: 'mock-app:dev', env: {}, labels: {}, networks: ['net'], stopTimeoutSec: 10,
  limits: { memoryBytes: 1 << 28, nanoCpus: 5e8, pids: 256 },
};

describe('DockerRuntime.create by engine API version', () => {
  it('API 1.56: the image HEALTHCHECK goes along with a 50 ms StartInterval by default', async () => {
    const f = fakeDocker(async () => ({ ApiVersion: '1.56' }));
    await new DockerRuntime(f.docker).create(spec);
    expect(f.created[0]?.Healthcheck).toEqual({ ...IMAGE_HC, StartInterval: 50_000_000 });
  });

  it('API 1.56: the configured StartInterval (healthStartIntervalMs)', async () => {
    const f = fakeDocker(async () => ({ ApiVersion: '1.56' }));
    await new DockerRuntime(f.docker, { healthStartIntervalMs: 100 }).create(spec);
    expect(f.created[0]?.Healthcheck).toEqual({ ...IMAGE_HC, StartInterval: 100_000_000 });
  });

  it('API 1.41: no Healthcheck field at all (the engine applies the image\'s own)', async () => {
    const f = fakeDocker(async () => ({ ApiVersion: '1.41' }));
    await new DockerRuntime(f.docker).create(spec);
    expect(f.created[0]).not.toHaveProperty('Healthcheck');
  });

  it('asks for the version again after a failed read, then keeps the answer', async () => {
    let calls = 0;
    const f = fakeDocker(async () => {
      calls += 1;
      if (calls === 1) throw new Error('connect ENOENT /var/run/docker.sock');
      return { ApiVersion: '1.56' };
    });
    const rt = new DockerRuntime(f.docker);
    await expect(rt.apiVersion()).rejects.toThrow('ENOENT');
    expect(await rt.apiVersion()).toBe('1.56');
    await rt.create(spec);
    expect(f.version).toHaveBeenCalledTimes(2);
    expect(f.created[0]?.Healthcheck).toMatchObject({ StartInterval: 50_000_000 });
  });
});
