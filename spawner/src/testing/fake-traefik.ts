/** Test-only Traefik stand-in shared by the waker and init unit tests. */
import type { FakeRuntime } from '../runtime/fake.js';
import type { RouterStatus, ServiceStatus } from '../traefik/api.js';

/**
 * A Traefik stand-in for the readiness gate: the router is enabled and the service lists the
 * current address of every running container, as Traefik's Docker provider would. `hold` lets a
 * test keep a wake in flight until it releases it.
 */
export function fakeTraefik(rt: FakeRuntime) {
  let release: () => void = () => undefined;
  let held: Promise<void> = Promise.resolve();
  const api = {
    routerCalls: 0,
    async router(name: string): Promise<RouterStatus | null> {
      api.routerCalls++;
      await held;
      return { status: 'enabled', service: name };
    },
    async service(): Promise<ServiceStatus | null> {
      await held;
      const urls = [...rt.containers.values()]
        .filter((c) => c.state === 'running')
        .flatMap((c) => Object.values(c.ips).map((ip) => `http://${ip}:${c.labels['spawner.port'] ?? ''}`));
      return { status: 'enabled', serverUrls: urls };
    },
    hold() {
      held = new Promise((r) => { release = r; });
    },
    release: () => release(),
  };
  return api;
}

