/**
 * Reads Traefik's API with plain fetch (no client library). Only the fields the readiness gate
 * and the reaper need are typed; everything else in Traefik's answers is ignored.
 */
import type { TraefikProvider } from './labels.js';

export interface RouterStatus {
  status: 'enabled' | 'disabled' | 'warning' | string;
  service?: string;
  /** Why Traefik does not serve it (e.g. a middleware pointing at a service that does not exist). */
  errors?: string[];
}

export interface ServiceStatus {
  status?: string;
  serverUrls: string[];
}

export class TraefikApi {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 2_000,
    /** The provider that names the instances' routers (`@docker`, `@swarm`). */
    readonly provider: TraefikProvider = 'docker',
  ) {}

  private async getJson(path: string): Promise<unknown | null> {
    const res = await fetch(new URL(path, this.baseUrl), { signal: AbortSignal.timeout(this.timeoutMs) });
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`traefik api ${path}: HTTP ${res.status}`);
    }
    return res.json();
  }

  /** The router as the instances' provider (or `provider`, e.g. `file`) names it, or null when Traefik does not have it. */
  async router(name: string, provider: string = this.provider): Promise<RouterStatus | null> {
    const body = (await this.getJson(`/api/http/routers/${encodeURIComponent(name)}@${provider}`)) as
      | { status?: string; service?: string; error?: unknown }
      | null;
    if (!body) return null;
    const errors = Array.isArray(body.error) ? body.error.filter((e): e is string => typeof e === 'string') : [];
    return { status: body.status ?? 'unknown', service: body.service, ...(errors.length ? { errors } : {}) };
  }

  async service(name: string, provider: string = this.provider): Promise<ServiceStatus | null> {
    const body = (await this.getJson(`/api/http/services/${encodeURIComponent(name)}@${provider}`)) as
      | { status?: string; loadBalancer?: { servers?: { url?: string }[] } }
      | null;
    if (!body) return null;
    const serverUrls = (body.loadBalancer?.servers ?? []).map((s) => s.url ?? '').filter(Boolean);
    return { status: body.status, serverUrls };
  }

  /** Prometheus text exposition from Traefik's metrics endpoint. */
  async metrics(): Promise<string> {
    const res = await fetch(new URL('/metrics', this.baseUrl), { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!res.ok) throw new Error(`traefik metrics: HTTP ${res.status}`);
    return res.text();
  }
}
