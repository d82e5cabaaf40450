import { describe, expect, it } from 'vitest';
import { toImageInfo } from './docker-images.js';

describe('toImageInfo', () => {
  it('maps tags, size, labels, exposed TCP ports and the health check (ns to s)', () => {
    expect(toImageInfo({
      Id: 'sha256:1', RepoTags: ['a:1', '<none>:<none>'], Size: 42, Created: '2026-01-01T00:00:00Z',
      Config: {
        Labels: { k: 'v' }, ExposedPorts: { '9000/tcp': {}, '53/udp': {}, '80': {} },
        Healthcheck: { Test: ['CMD', 'x'], Interval: 2e9, Timeout: 1e9, Retries: 3 },
      },
    })).toEqual({
      id: 'sha256:1', refs: ['a:1'], sizeBytes: 42, created: '2026-01-01T00:00:00Z', labels: { k: 'v' },
      ports: [80, 9000], healthcheck: { test: ['CMD', 'x'], intervalSec: 2, timeoutSec: 1, retries: 3 },
    });
  });

  it('has no health check for HEALTHCHECK NONE or none at all, and tolerates null fields', () => {
    expect(toImageInfo({ Id: 'x', Config: { Healthcheck: { Test: ['NONE'] } } }).healthcheck).toBeNull();
    expect(toImageInfo({ Id: 'x', RepoTags: null, Config: null })).toMatchObject({ refs: [], labels: {}, ports: [], healthcheck: null });
  });
});
