import { describe, expect, it } from 'vitest';
import { FakeRuntime } from '../runtime/fake.js';
import { listRuntimes, OCI } from './catalogue.js';

function runtimeWith(refs: string[]): FakeRuntime {
  const rt = new FakeRuntime();
  for (const r of refs) rt.images.add(r);
  return rt;
}

describe('listRuntimes', () => {
  it('lists only the engine images the allowlist allows, sorted by reference', async () => {
    const rt = runtimeWith(['mock-app:b', 'mock-app:a', 'postgres:16', 'team/mock-app:x']);
    const list = await listRuntimes(rt, ['mock-app:*']);
    expect(list.map((e) => e.reference)).toEqual(['mock-app:a', 'mock-app:b']);
    expect(list.every((e) => e.present)).toBe(true);
  });

  it('shows the OCI title, description and version, the declared port and health check', async () => {
    const rt = runtimeWith(['mock-app:v2']);
    rt.imageDetails.set('mock-app:v2', {
      id: 'sha256:abc', sizeBytes: 123, created: '2026-02-03T04:05:06Z', ports: [8080, 9000],
      labels: { [OCI.title]: 'Mock', [OCI.description]: 'A mock', [OCI.version]: '2.0', other: 'x' },
      healthcheck: { test: ['CMD', 'node', 'hc.js'], intervalSec: 2 },
    });
    expect(await listRuntimes(rt, ['mock-app:*'])).toEqual([{
      reference: 'mock-app:v2', present: true, id: 'sha256:abc', sizeBytes: 123, created: '2026-02-03T04:05:06Z',
      title: 'Mock', description: 'A mock', version: '2.0', port: 8080, ports: [8080, 9000],
      healthCheck: { test: ['CMD', 'node', 'hc.js'], intervalSec: 2 },
    }]);
  });

  it('lists an absent literal entry as one a deploy would pull, never an absent glob', async () => {
    const rt = runtimeWith(['mock-app:a']);
    const list = await listRuntimes(rt, ['mock-app:*', 'registry.example/app:1', 'other/*:*']);
    expect(list).toEqual([
      expect.objectContaining({ reference: 'mock-app:a', present: true }),
      expect.objectContaining({ reference: 'registry.example/app:1', present: false, id: null, port: null }),
    ]);
  });

  it('lists a present literal entry once, as present', async () => {
    const rt = runtimeWith(['mock-app:latest']);
    const list = await listRuntimes(rt, ['mock-app:latest', 'mock-app:*']);
    expect(list).toEqual([expect.objectContaining({ reference: 'mock-app:latest', present: true })]);
  });

  it('is empty for an empty allowlist, and makes no mutating engine call', async () => {
    const rt = runtimeWith(['mock-app:a']);
    expect(await listRuntimes(rt, [])).toEqual([]);
    expect(rt.mutations()).toEqual([]);
  });
});
