import { describe, expect, it } from 'vitest';
import { DEFAULTS, type Config } from '../config.js';
import { SpawnerError } from '../errors.js';
import { validateRedeploy, validateRollback } from './redeploy-body.js';

const cfg: Config = { ...DEFAULTS, allowedImages: ['mock-app:*'] };

function caught(fn: () => unknown): { code: string; field?: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof SpawnerError) return { code: e.code, field: e.field, message: e.message };
    throw e;
  }
  throw new Error('did not throw');
}

describe('validateRedeploy', () => {
  it('takes only the fields sent (the rest stays as the active revision has it; no strategy: the deploy\'s, else start-first)', () => {
    expect(validateRedeploy({ image: 'mock-app:2' }, cfg, 'a')).toEqual({ changes: { image: 'mock-app:2' } });
    expect(validateRedeploy({
      envs: { A: '1' }, labels: { team: 'x', 'health-check': 'http://a:9000/status' }, port: 8080, limits: { memoryMb: 128 }, idleTimeout: 0, strategy: 'stop-first',
    }, cfg, 'a')).toEqual({
      changes: { env: { A: '1' }, labels: { team: 'x', 'health-check': 'http://a:9000/status' }, healthCheck: 'http://a:9000/status', port: 8080, limits: { memoryMb: 128, cpus: 0.5, pids: 256 }, idleTimeoutSec: 0 },
      strategy: 'stop-first',
    });
  });

  it('what names or routes the instance never changes: a clear error naming the field', () => {
    for (const f of ['routing', 'public', 'name', 'network', 'egress', 'init']) {
      expect(caught(() => validateRedeploy({ [f]: 'x' }, cfg, 'a'))).toMatchObject({ code: 'invalid_field', field: f, message: expect.stringContaining('never changes') });
    }
  });

  it('refuses what a deploy would refuse, and more', () => {
    expect(caught(() => validateRedeploy({ image: 'evil:1' }, cfg, 'a')).code).toBe('image_not_allowed');
    expect(caught(() => validateRedeploy({ envs: { SPAWNER_IDENTITY_TOKEN: 'x' } }, cfg, 'a')).field).toBe('envs.SPAWNER_IDENTITY_TOKEN');
    expect(caught(() => validateRedeploy({ strategy: 'yolo' }, cfg, 'a')).field).toBe('strategy');
    expect(caught(() => validateRedeploy({ port: 0 }, cfg, 'a')).field).toBe('port');
    expect(caught(() => validateRedeploy({ privileged: true }, cfg, 'a')).field).toBe('privileged');
    expect(caught(() => validateRedeploy([], cfg, 'a')).code).toBe('invalid_json');
    // Even where a deploy may send scoped traefik labels, a redeploy may not: the route must stay the same.
    expect(caught(() => validateRedeploy({ labels: { 'traefik.http.middlewares.spawner-i-a_h.headers.customresponseheaders.x-a': '1' } }, { ...cfg, allowTraefikLabels: true }, 'a')).field).toMatch(/^labels/);
  });
});

describe('validateRollback', () => {
  it('needs a revision number', () => {
    expect(validateRollback({ revision: 2 })).toEqual({ revision: 2 });
    expect(caught(() => validateRollback({})).field).toBe('revision');
    expect(caught(() => validateRollback({ revision: 'two' })).field).toBe('revision');
    expect(caught(() => validateRollback({ revision: 1, image: 'mock-app:1' })).field).toBe('image');
  });
});
