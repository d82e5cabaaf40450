/**
 * Start-up convergence after a crash mid-switch, over FakeRuntime: an uncommitted revision is
 * failed `interrupted` and its container removed; the committed container is never touched; a
 * leftover switch file is removed once Traefik's Docker service holds only the row's container.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../store/db.js';
import { RevisionStore } from '../store/revisions.js';
import type { TraefikApi } from '../traefik/api.js';
import { writeSwitch } from '../traefik/switch-file.js';
import { memoryDeps } from '../testing/fixtures.js';
import { convergeRevisions } from './revisions-converge.js';
import { Revisions } from './revisions.js';
import { InstanceService } from './service.js';
import type { DeploySpec } from './types.js';

const dbs: Database[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const spec: DeploySpec = {
  name: 'a', image: 'mock-app:latest', network: 'spawner', port: 9000, routing: 'cookie', public: false, egress: true,
  labels: {}, traefikLabels: {}, env: {}, limits: { memoryMb: 256, cpus: 0.5, pids: 256 },
};

describe('convergeRevisions', () => {
  it('fails the interrupted revision, removes its container, keeps the committed one, then removes the switch file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'converge-'));
    dirs.push(dir);
    const base = memoryDeps({ cfg: { traefikDynamicDir: dir } });
    dbs.push(base.db);
    const revisions = new Revisions(new RevisionStore(base.db), null, 10);
    // Traefik as it is once the rescan ran: the Docker service has the row's container only; no file router.
    const traefik = {
      router: async (_n: string, provider = 'docker') => (provider === 'file' ? null : { status: 'enabled' }),
      service: async () => ({ serverUrls: [...base.runtime.containers.values()].filter((c) => c.state === 'running').map((c) => `http://${Object.values(c.ips)[0] ?? ''}:9000`) }),
    } as unknown as TraefikApi;
    const d = { ...base, revisions, traefik };
    const service = new InstanceService(d);
    const { view } = await service.deploy(spec, 'alice');
    // What a crash during a switch leaves: revision 2 pending with a container, and a switch file.
    revisions.record('a', 2, { ...spec, env: {} }, 'bob', 2);
    const orphan = await base.runtime.create({ name: 'spawner-a.r2', image: 'mock-app:latest', networks: [], labels: {}, env: {}, stopTimeoutSec: 1, limits: { memoryBytes: 0, nanoCpus: 0, pids: 0 } });
    revisions.store.setContainer('a', 2, orphan);
    await writeSwitch(dir, { name: 'a', router: { rule: 'Host(`a`)', entrypoints: ['web'], middlewares: [] }, serve: 'http://10.0.0.9:9000' });

    await convergeRevisions(d, service);

    expect(revisions.store.list('a').map((r) => [r.n, r.status, r.failedStep])).toEqual([[2, 'failed', 'interrupted'], [1, 'active', null]]);
    expect(base.runtime.containers.has(orphan)).toBe(false);
    expect(base.runtime.containers.has(view.id as string)).toBe(true);
    expect(existsSync(join(dir, 'spawner-switch-a.yml'))).toBe(false);
    expect(base.events.list({ instance: 'a', limit: 10 }).map((e) => [e.kind, e.reason])).toContainEqual(['redeploy_failed', 'interrupted']);
  });
});
