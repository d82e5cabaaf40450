/**
 * The image catalogue (GET /runtimes) against the real engine: every entry is an allowed image
 * whose id, size, OCI labels, port and health check are what `docker image inspect` says; images
 * outside the allowlist never show; an absent literal entry is listed as one a deploy would pull;
 * the CLI prints the same list.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, login, startStack, type Stack } from './helpers/stack.js';
import { IMAGES } from './helpers/docker-env.js';

const CLI = fileURLToPath(new URL('../spawner/dist/cli.js', import.meta.url));
const ABSENT = '127.0.0.1:1/never-built/app:1';

interface Entry {
  reference: string; present: boolean; id: string | null; sizeBytes: number | null; created: string | null;
  title: string | null; description: string | null; version: string | null; port: number | null;
  healthCheck: { test: string[]; intervalSec?: number } | null;
}

let stack: Stack;
let token: string;
beforeAll(async () => {
  stack = await startStack({ env: { SPAWNER_ALLOWED_IMAGES: `mock-app:*,${ABSENT}` } });
  token = await login(stack);
});
afterAll(async () => { await stack?.teardown(); });

describe('GET /runtimes against the engine', () => {
  it('refuses a caller without a token', async () => {
    const r = await api(stack, '', 'GET', '/runtimes');
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('unauthorized');
  });

  it('lists both mock-app tags with what the engine says about them, and only allowed images', async () => {
    const r = await api(stack, token, 'GET', '/runtimes');
    expect(r.status).toBe(200);
    const list = r.body.runtimes as Entry[];
    const refs = list.map((e) => e.reference);
    expect(refs).toEqual([...refs].sort((a, b) => a.localeCompare(b)));
    // The shared engine may hold other mock-app tags: each must be an allowed one, none other.
    for (const e of list) expect(e.reference === ABSENT || e.reference.startsWith('mock-app:'), e.reference).toBe(true);
    expect(refs).not.toContain(IMAGES.traefik);
    expect(refs).not.toContain(IMAGES.spawner);

    for (const [ref, title, version] of [[IMAGES.mockApp, 'Mock app', '1.0.0'], [IMAGES.mockAppAlt, 'Mock app v2', '2.0.0']] as const) {
      const e = list.find((x) => x.reference === ref);
      const img = await docker.getImage(ref).inspect();
      expect(e, ref).toEqual({
        reference: ref, present: true, id: img.Id, sizeBytes: img.Size, created: img.Created,
        title, version, description: img.Config.Labels?.['org.opencontainers.image.description'] ?? null,
        port: 9000, ports: [9000],
        healthCheck: { test: img.Config.Healthcheck?.Test, intervalSec: 2, timeoutSec: 2, retries: 3 },
      });
    }
    expect(list.find((x) => x.reference === ABSENT)).toMatchObject({ present: false, id: null, port: null });
  });

  it('`spawner runtimes` prints the same catalogue', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'runtimes', '--api', stack.api, '--token', token], { timeout: 60_000 });
    expect(stdout.split('\n')[0]).toBe('REFERENCE\tSOURCE\tTITLE\tVERSION\tPORT');
    expect(stdout).toContain(`${IMAGES.mockAppAlt}\tpresent\tMock app v2\t2.0.0\t9000`);
    expect(stdout).toContain(`${ABSENT}\tpull\t\t\t`);
  });
});
