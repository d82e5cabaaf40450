/**
 * Where the two listeners bind. `auto` (the default) inside a container means its address on the
 * control network plus loopback (its own healthcheck): the spawner also joins every instance
 * network (for its readiness probes), and a listener on 0.0.0.0 would answer there. Bound this
 * way, the spawner's address on an instance network refuses every connection at once.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { once } from 'node:events';
import type { Config } from './config.js';
import type { ContainerRuntime } from './runtime/types.js';
import type { Logger } from './log.js';

export async function resolveHosts(cfg: Config, runtime: ContainerRuntime, log: Logger): Promise<{ api: string[]; wake: string[] }> {
  const needAuto = cfg.apiHost === 'auto' || cfg.wakeHost === 'auto';
  const auto = needAuto ? await controlAddress(cfg, runtime, log) : ['0.0.0.0'];
  return {
    api: cfg.apiHost === 'auto' ? auto : [cfg.apiHost],
    wake: cfg.wakeHost === 'auto' ? auto : [cfg.wakeHost],
  };
}

async function controlAddress(cfg: Config, runtime: ContainerRuntime, log: Logger): Promise<string[]> {
  const self = await runtime.selfContainerId().catch(() => null);
  const info = self ? await runtime.inspect(self).catch(() => null) : null;
  const ip = info?.ips[cfg.network];
  if (ip) return [ip, '127.0.0.1'];
  log.warn(self
    ? `the spawner's container is not on the control network ${cfg.network}; listening on 0.0.0.0 (instances can reach the spawner)`
    : 'the spawner runs outside a container; listening on 0.0.0.0: set SPAWNER_API_HOST/SPAWNER_WAKE_HOST so instance networks cannot reach it');
  return ['0.0.0.0'];
}

/** One HTTP server per address, handled as one: close, drop idle and all connections together. */
export class Listeners {
  private constructor(readonly servers: Server[]) {}

  static async open(app: RequestListener, hosts: string[], port: number): Promise<Listeners> {
    const servers: Server[] = [];
    let p = port;
    for (const host of hosts) {
      const s = createServer(app).listen(p, host);
      await once(s, 'listening');
      servers.push(s);
      // Port 0 (tests): the first address picks one, the others take the same.
      const addr = s.address();
      if (p === 0 && addr && typeof addr === 'object') p = addr.port;
    }
    return new Listeners(servers);
  }

  get first(): Server {
    return this.servers[0] as Server;
  }

  close(): Promise<void> {
    return Promise.all(this.servers.map((s) => new Promise((r) => s.close(r)))).then(() => undefined);
  }

  closeIdleConnections(): void {
    for (const s of this.servers) s.closeIdleConnections();
  }

  closeAllConnections(): void {
    for (const s of this.servers) s.closeAllConnections();
  }
}
