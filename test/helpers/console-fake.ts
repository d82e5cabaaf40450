/**
 * The console over the real domain code (InstanceService, ConsoleHub, the express app) on
 * FakeRuntime and an in-memory store: for browser tests of the page itself at a scale no test
 * machine can run real containers for (1,000 instances). Needs `npm run build` (it serves the
 * compiled browser modules from spawner/dist/console/web). Listens on 127.0.0.1 only.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthService } from '../../spawner/src/auth/service.js';
import { LoginRateLimiter } from '../../spawner/src/auth/rate-limit.js';
import { InstanceService } from '../../spawner/src/instances/service.js';
import { TokenStore } from '../../spawner/src/store/tokens.js';
import { createApiApp } from '../../spawner/src/api/app.js';
import { validateDeploy } from '../../spawner/src/api/validate.js';
import { ConsoleHub } from '../../spawner/src/console/hub.js';
import { memoryDeps } from '../../spawner/src/testing/fixtures.js';

export const ASSETS = fileURLToPath(new URL('../../spawner/dist/console/web/', import.meta.url));

export interface FakeConsole {
  url: string;
  user: { username: string; password: string };
  service: InstanceService;
  /** The lifecycle log (e.g. to record wakes, which FakeRuntime cannot perform through a gate). */
  events: ReturnType<typeof memoryDeps>['events'];
  close(): Promise<void>;
}

export async function startFakeConsole(opts: { instances: number; labels?: (i: number) => Record<string, string> }): Promise<FakeConsole> {
  if (!existsSync(`${ASSETS}main.js`)) throw new Error(`${ASSETS}main.js is missing: run \`npm run build\` first`);
  const deps = memoryDeps({ cfg: { idleTimeoutSec: 300, maxLabels: 32 } });
  const service = new InstanceService(deps);
  const user = { username: 'ops', password: 'console-pw' };
  const auth = new AuthService({
    users: new Map([[user.username, createHash('sha256').update(user.password).digest('hex')]]),
    tokens: new TokenStore(deps.db), limiter: new LoginRateLimiter({}), tokenTtlSec: 3600,
  });
  for (let i = 0; i < opts.instances; i++) {
    const spec = validateDeploy({ name: `inst-${i}`, image: 'mock-app:latest', labels: opts.labels?.(i) ?? { owner: `user-${i % 40}` } }, deps.cfg, { defaultNetwork: deps.cfg.network });
    await service.deploy(spec);
    if (i % 3 === 0) await service.stop(spec.name, 'api');
  }
  for (const [i, rec] of deps.instances.list().entries()) {
    if (i % 3 !== 0) deps.instances.touchActivity(rec.name, Date.now() - ((i * 7_919) % 240_000));
    if (i % 4 !== 1) continue;
    const ms = (k: number) => Math.round(60 + ((i * 37 + k * 11) % 400));
    deps.events.append({ instance: rec.name, kind: 'wake', detail: { started: true, start: ms(1), health: ms(2), route: ms(3) / 4, probe: ms(4) / 20, total: ms(1) + ms(2) + ms(3) / 4 + ms(4) / 20 } }, Date.now());
  }
  const hub = new ConsoleHub({ ...deps, service, startsInFlight: () => 0, tickMs: 2_000 });
  hub.start();
  const app = createApiApp({
    cfg: deps.cfg, auth, service, events: deps.events, metrics: deps.metrics, isClosing: () => false, probeNonce: 'n',
    waker: { wake: async () => { throw new Error('no wakes in the fake console'); } }, runtimes: async () => [],
    console: { auth, service, hub, tokenTtlSec: 3600, isInstanceAddress: async () => false, assetsDir: ASSETS },
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, user, service, events: deps.events,
    close: async () => {
      hub.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      deps.db.close();
    },
  };
}
