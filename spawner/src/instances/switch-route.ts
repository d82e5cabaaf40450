/**
 * A redeploy's switch route, step by step: write the file, then wait until Traefik's API shows
 * exactly what was written (a file Traefik has not loaded yet routes nothing). Every wait is
 * bounded; a route that never shows is a failed step, never a silent go-ahead.
 */
import type { TraefikApi } from '../traefik/api.js';
import { routerName } from '../traefik/labels.js';
import {
  probeRouterName, removeSwitch, switchRouterName, writeSwitch, type InstanceRouter,
} from '../traefik/switch-file.js';
import { retryUntil } from '../readiness/retry.js';
import { GATE_POLL } from '../readiness/gate.js';

export class SwitchRoute {
  constructor(
    private readonly traefik: TraefikApi,
    private readonly dir: string,
    readonly name: string,
    private readonly router: InstanceRouter,
  ) {}

  /** All requests of the instance go to `serve`; with `probe`, token-carrying ones to its server. */
  async point(serve: string, signal: AbortSignal, probe?: { token: string; server: string }): Promise<void> {
    await writeSwitch(this.dir, { name: this.name, router: this.router, serve, provider: this.traefik.provider, ...(probe ? { probe } : {}) });
    await this.waitServers(switchRouterName(this.name), 'file', [serve], signal);
    if (probe) await this.waitServers(probeRouterName(this.name), 'file', [probe.server], signal);
    else await this.waitRouterGone(probeRouterName(this.name), signal);
  }

  /**
   * Waits until the instances' provider's (docker or swarm) service of the instance has exactly
   * `servers` (the old container's death, or a failed new one's removal, has reached Traefik),
   * then removes the file: from then on the instance's own labels route it, to that one only.
   */
  async release(servers: string[], signal: AbortSignal): Promise<void> {
    await this.waitServers(routerName(this.name), this.traefik.provider, servers, signal, false).catch(() => undefined);
    await removeSwitch(this.dir, this.name);
    await this.waitRouterGone(switchRouterName(this.name), signal).catch(() => undefined);
  }

  private async waitServers(name: string, provider: string, want: string[], signal: AbortSignal, needRouter = true): Promise<void> {
    const same = (a: string[]) => a.length === want.length && want.every((u) => a.includes(u));
    await retryUntil(async () => {
      const [router, service] = await Promise.all([
        needRouter ? this.traefik.router(name, provider) : Promise.resolve({ status: 'enabled' }),
        this.traefik.service(name, provider),
      ]);
      return router?.status === 'enabled' && service && same(service.serverUrls) ? true : undefined;
    }, { signal, ...GATE_POLL, onError: () => undefined });
  }

  private async waitRouterGone(name: string, signal: AbortSignal): Promise<void> {
    await retryUntil(async () => ((await this.traefik.router(name, 'file')) ? undefined : true), { signal, ...GATE_POLL, onError: () => undefined });
  }
}
