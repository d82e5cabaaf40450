/**
 * The hostile tenant, on real Docker and real Traefik: code inside one instance tries every reach
 * the issue names, and each one fails fast (refused, no such name, or dropped within the probe's
 * 1.5 s): other instances by name and by address, every port of the neighbours on its own
 * network (Traefik's data plane and the spawner), Traefik's API, dashboard and metrics, the
 * deploy API and the wake listener, the Docker socket. Only its own app and Traefik's public
 * entrypoint answer, and from outside Traefik still routes to every tenant in every mode.
 * Parameterised by runtime (helpers/runtime-view.ts): CI's one-node swarm part runs it with
 * E2E_RUNTIME=swarm, where each tenant is a task on an overlay of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { api, docker, type Stack } from './helpers/stack.js';
import { containerOf, RUNTIME, startRuntimeStack, teardownRuntimeStack } from './helpers/runtime-view.js';
import { IMAGES } from './helpers/docker-env.js';
import { pollUntil } from './helpers/poll.js';
import { pairs, probeFrom, reached, type Probe } from './helpers/tenant.js';

let stack: Stack;
let token: string;

/** `unit`: the name another tenant would try (the container's, or on Swarm the service's); `container`: what runs it. */
interface Tenant { name: string; id: string; unit: string; container: string; cookie: string; network: string; ip: string; subnet: string }
const tenants: Record<string, Tenant> = {};
const DEPLOYS = [
  { name: 'cookie-a', body: {} },
  { name: 'host-b', body: { routing: 'host' } },
  { name: 'path-c', body: { routing: 'path' } },
  { name: 'public-d', body: { public: true } },
];

async function ipsOf(container: string): Promise<Record<string, string>> {
  const info = await docker.getContainer(container).inspect();
  return Object.fromEntries(Object.entries(info.NetworkSettings.Networks).map(([n, ep]) => [n, ep.IPAddress]));
}

/** From outside (127.0.0.1 → Traefik): how each mode reaches its tenant. */
function outside(t: Tenant): { url: string; headers: Record<string, string> } {
  const cookie = { cookie: t.cookie };
  if (t.name === 'host-b') return { url: `${stack.web}/`, headers: { ...cookie, host: `${t.name}.apps.localhost` } };
  if (t.name === 'path-c') return { url: `${stack.web}/app/${t.name}/`, headers: cookie };
  return { url: `${stack.web}/`, headers: cookie };
}

beforeAll(async () => {
  ({ stack, token } = await startRuntimeStack());
  for (const d of DEPLOYS) {
    // The original scripts' body shape, naming the control network: still an isolated instance.
    const dep = await api(stack, token, 'POST', '/deploy?wait=true', { name: d.name, image: IMAGES.mockApp, network: stack.network, labels: {}, envs: { IDLE: '0' }, ...d.body });
    expect(dep.status, JSON.stringify(dep.body)).toBe(200);
    const unit = `${stack.runId}-${d.name}`;
    const network = `${stack.network}-${unit}`;
    const net = await docker.getNetwork(network).inspect();
    const container = await containerOf(stack, d.name);
    const ips = await ipsOf(container);
    tenants[d.name] = {
      name: d.name, id: String(dep.body.id), unit, container, network, ip: ips[network] as string,
      subnet: String(net.IPAM?.Config?.[0]?.Subnet), cookie: `instance=${dep.body.cookie.value}`,
    };
  }
}, 240_000);

afterAll(async () => teardownRuntimeStack(stack, 'isolation'), 180_000);

/** The containers on a network; on Swarm without the overlay's own load-balancer endpoint (`lb-…`). */
async function membersOf(network: string): Promise<string[]> {
  const cs = Object.entries((await docker.getNetwork(network).inspect()).Containers ?? {});
  return cs.filter(([id]) => !id.startsWith('lb-')).map(([id, c]) => (RUNTIME === 'swarm' && !c.Name.startsWith(stack.network) ? id : c.Name)).sort();
}

describe('hostile tenant (real Docker + Traefik)', () => {
  it('each instance is on its own network only, with Traefik and the spawner, and nothing else', async () => {
    for (const t of Object.values(tenants)) {
      expect(Object.keys(await ipsOf(t.container))).toEqual([t.network]);
      const self = RUNTIME === 'swarm' ? t.container : t.unit; // a task's container is known by id
      expect(await membersOf(t.network)).toEqual([`${stack.network}-spawner`, `${stack.network}-traefik`, self].sort());
    }
  });

  it('Traefik routes to every tenant from outside, in every mode', async () => {
    for (const t of Object.values(tenants)) {
      const { url, headers } = outside(t);
      const body = await pollUntil(`${t.name} through traefik`, async () => {
        const r = await request(url, { headers, headersTimeout: 30_000 });
        const text = await r.body.text();
        return r.statusCode === 200 && !r.headers['x-spawner-wake'] ? text : undefined;
      });
      expect(JSON.parse(body).hostname).toBe(t.name); // the hostname is the instance name
    }
  });

  for (const d of DEPLOYS) {
    it(`from inside ${d.name}: nothing but itself and Traefik's public entrypoint answers, and fast`, async () => {
      const me = tenants[d.name] as Tenant;
      const others = Object.values(tenants).filter((t) => t.name !== me.name);
      const traefikHere = (await ipsOf(`${stack.network}-traefik`))[me.network] as string;
      const spawnerHere = (await ipsOf(`${stack.network}-spawner`))[me.network] as string;
      const controlTraefik = (await ipsOf(`${stack.network}-traefik`))[stack.network] as string;
      const controlSpawner = (await ipsOf(`${stack.network}-spawner`))[stack.network] as string;
      const ports = [...Array.from({ length: 1024 }, (_, i) => i + 1), 2375, 2376, 3000, 5000, 8000, 8008, 8080, 8081, 8082, 8443, 9000, 9090, 9100];
      const blocked: Probe[] = [
        ...others.flatMap((o): Probe[] => [
          { kind: 'http', url: `http://${o.unit}:9000/` },
          { kind: 'http', url: `http://${o.ip}:9000/` },
        ]),
        { kind: 'http', url: 'http://traefik:8080/api/http/routers' },
        ...['/api/http/routers', '/api/rawdata', '/dashboard/', '/metrics', '/ping'].map((p): Probe => ({ kind: 'http', url: `http://${traefikHere}:8080${p}` })),
        { kind: 'http', url: `http://${stack.network}-traefik:8080/api/http/routers` },
        { kind: 'http', url: `http://${controlTraefik}:8080/api/http/routers` },
        { kind: 'http', url: 'http://spawner:8008/healthz' },
        { kind: 'http', url: `http://${stack.network}-spawner:8008/healthz` },
        { kind: 'http', url: `http://${spawnerHere}:8008/metrics` },
        { kind: 'http', url: `http://${spawnerHere}:8000/` },
        { kind: 'http', url: `http://${controlSpawner}:8008/healthz` },
        { kind: 'http', url: `http://${controlSpawner}:8000/` },
        { kind: 'unix', path: '/var/run/docker.sock' },
        // Every port of both neighbours on its own network except Traefik's public :80.
        ...ports.map((port): Probe => ({ kind: 'tcp', host: spawnerHere, port })),
        ...ports.filter((p) => p !== 80).map((port): Probe => ({ kind: 'tcp', host: traefikHere, port })),
      ];
      const allowed: Probe[] = [
        { kind: 'http', url: 'http://127.0.0.1:9000/' }, // itself
        { kind: 'tcp', host: traefikHere, port: 80 }, // Traefik's public entrypoint
      ];
      // The probes can reach what is allowed (so a blocked outcome is no artefact of the harness).
      expect(await probeFrom(me.container, allowed, 5_000)).toEqual(['http:200', 'open']);
      const t0 = Date.now();
      const results = pairs(blocked, await probeFrom(me.container, blocked));
      const ms = Date.now() - t0;
      const tally: Record<string, number> = {};
      for (const r of results) tally[r.outcome] = (tally[r.outcome] ?? 0) + 1;
      const slow = results.filter((r) => r.outcome === 'timeout').map((r) => r.probe);
      console.log(`[isolation] from ${me.name}: ${results.length} probes in ${ms} ms: ${JSON.stringify(tally)}${slow.length ? `; dropped: ${slow.slice(0, 12).join(', ')}` : ''}`);
      expect(results.filter((r) => reached(r.outcome))).toEqual([]);
      // The spawner's and Traefik's API ports refuse at once on the instance network.
      const refused = results.filter((r) => r.probe === `http://${spawnerHere}:8008/metrics` || r.probe === `http://${traefikHere}:8080/api/http/routers`);
      expect(refused.map((r) => r.outcome)).toEqual(['refused', 'refused']);
      expect(ms).toBeLessThan(15_000);
    });
  }

  it("through Traefik's public entrypoint, another tenant is reached only with its routing secret", async () => {
    const me = tenants['cookie-a'] as Tenant;
    const victimHost = tenants['host-b'] as Tenant;
    const victimCookie = tenants['path-c'] as Tenant;
    const traefikHere = (await ipsOf(`${stack.network}-traefik`))[me.network] as string;
    const probes: Probe[] = [
      { kind: 'http', url: `http://${traefikHere}/`, headers: { host: `${victimHost.name}.apps.localhost`, accept: 'application/json' } },
      { kind: 'http', url: `http://${traefikHere}/app/${victimCookie.name}/`, headers: { cookie: `instance=${victimCookie.name}`, accept: 'application/json' } },
      { kind: 'http', url: `http://${traefikHere}/`, headers: { cookie: `instance=${victimHost.name}.${'0'.repeat(32)}`, accept: 'application/json' } },
    ];
    const out = await probeFrom(me.container, probes);
    // The wake listener's answer to an unknown or forged value: 401 (never the victim's app).
    expect(out).toEqual(['http:401', 'http:401', 'http:401']);
  });
});
