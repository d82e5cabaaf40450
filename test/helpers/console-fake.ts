/**
 * The console over the real domain code (InstanceService, ConsoleHub, the express app) on
 * FakeRuntime and an in-memory store: for browser tests of the page itself at a scale no test
 * machine can run real containers for (1,000 instances). Needs `npm run build` (it serves the
 * compiled browser modules from spawner/dist/console/web). Listens on 127.0.0.1 only.
 */
import { createHash } from 'node:crypto';
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
  close(): Promise<void>;
}

export async function startFakeConsole(opts: { instances: number; labels?: (i: number) => Record<string, string> }): Promise<FakeConsole> {
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
  const hub = new ConsoleHub({ ...deps, service, startsInFlight: () => 0, tickMs: 2_000 });
  hub.start();
  const app = createApiApp({
    cfg: deps.cfg, auth, service, events: deps.events, metrics: deps.metrics, isClosing: () => false, probeNonce: 'n',
    waker: { wake: async () => { throw new Error('no wakes in the fake console'); } },
    console: { auth, service, hub, tokenTtlSec: 3600, isInstanceAddress: async () => false, assetsDir: ASSETS },
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, user, service,
    close: async () => {
      hub.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      deps.db.close();
    },
  };
}
