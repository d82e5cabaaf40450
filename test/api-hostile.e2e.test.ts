/**
 * Hostile deploy requests against the real spawner: rule injection, label hijacking, container
 * escapes, bad networks/images/types/sizes and path traversal. Each must be refused with a 4xx
 * problem+json carrying a stable code (and the field at fault), and must leave nothing behind:
 * no row in GET /deploy, no container, and not even a `create` in Docker's event log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, spawnerLogs, startStack, type Stack } from './helpers/stack.js';
import { IMAGES } from './helpers/docker-env.js';
import { expectProblem, jsonRequest, rawRequest, type RawResponse } from './helpers/http.js';
import { createEventsOf } from './helpers/docker-events.js';

let stack: Stack;
let token: string;
let since: number;

beforeAll(async () => {
  stack = await startStack();
  token = (await jsonRequest(stack.api, '', 'POST', '/login', stack.user)).json.token as string;
  since = Date.now() / 1000 - 1;
});

afterAll(async () => {
  if (stack) {
    if (process.env.E2E_DEBUG) console.log(await spawnerLogs(stack));
    await stack.teardown();
  }
});

const ok = () => ({ name: 'evil', network: stack.network, image: IMAGES.mockApp, labels: {}, envs: {} });
const withLabel = (key: string, value = 'x') => ({ ...ok(), labels: { [key]: value } });

interface Case {
  desc: string;
  status: number;
  code: string;
  field?: string;
  /** A JSON body (merged), or raw text. */
  body?: () => unknown;
  raw?: () => string;
  method?: string;
  path?: string;
}

const CASES: Case[] = [
  // Router rule injection through the name.
  { desc: 'rule injection name', body: () => ({ ...ok(), name: 'x`) || PathPrefix(`/' }), status: 400, code: 'invalid_field', field: 'name' },
  { desc: 'name with backtick and &&', body: () => ({ ...ok(), name: 'a` && Host(`evil.com' }), status: 400, code: 'invalid_field', field: 'name' },
  { desc: 'name with uppercase', body: () => ({ ...ok(), name: 'Evil' }), status: 400, code: 'invalid_field', field: 'name' },
  { desc: 'name with leading dash', body: () => ({ ...ok(), name: '-evil' }), status: 400, code: 'invalid_field', field: 'name' },
  { desc: 'name with dot (router-name confusion)', body: () => ({ ...ok(), name: 'a.b' }), status: 400, code: 'invalid_field', field: 'name' },
  { desc: '65-character name', body: () => ({ ...ok(), name: 'a'.repeat(65) }), status: 400, code: 'invalid_field', field: 'name' },
  { desc: 'empty name', body: () => ({ ...ok(), name: '' }), status: 400, code: 'invalid_field', field: 'name' },
  // Label hijacking: other routers, services, networks, TLS, our own namespace.
  { desc: 'hijack the wake router rule', body: () => withLabel('traefik.http.routers.spawner-wake.rule', 'PathPrefix(`/`)'), status: 400, code: 'label_forbidden', field: 'labels.traefik.http.routers.spawner-wake.rule' },
  { desc: 'raise the home router priority', body: () => withLabel('traefik.http.routers.home.priority', '999999'), status: 400, code: 'label_forbidden', field: 'labels.traefik.http.routers.home.priority' },
  { desc: 'service url to another host', body: () => withLabel('traefik.http.services.x.loadbalancer.server.url', 'http://169.254.169.254/'), status: 400, code: 'label_forbidden', field: 'labels.traefik.http.services.x.loadbalancer.server.url' },
  { desc: 'traefik.docker.network', body: () => withLabel('traefik.docker.network', 'host'), status: 400, code: 'label_forbidden', field: 'labels.traefik.docker.network' },
  { desc: 'traefik.tls.certresolver', body: () => withLabel('traefik.tls.certresolver', 'le'), status: 400, code: 'label_forbidden', field: 'labels.traefik.tls.certresolver' },
  { desc: 'Traefik.Enable (letter case)', body: () => withLabel('Traefik.Enable', 'true'), status: 400, code: 'label_forbidden', field: 'labels.Traefik.Enable' },
  { desc: 'own router rule of the instance', body: () => withLabel('traefik.http.routers.evil.rule', 'PathPrefix(`/`)'), status: 400, code: 'label_forbidden', field: 'labels.traefik.http.routers.evil.rule' },
  { desc: 'origin label', body: () => withLabel('origin', 'spawner'), status: 400, code: 'label_forbidden', field: 'labels.origin' },
  { desc: 'spawner.id label', body: () => withLabel('spawner.id', '0'.repeat(32)), status: 400, code: 'label_forbidden', field: 'labels.spawner.id' },
  { desc: 'Spawner.Instance label (letter case)', body: () => withLabel('Spawner.Instance', 'other'), status: 400, code: 'label_forbidden', field: 'labels.Spawner.Instance' },
  { desc: 'com.docker.compose.project label', body: () => withLabel('com.docker.compose.project', 'x'), status: 400, code: 'label_forbidden', field: 'labels.com.docker.compose.project' },
  // Container escapes, in Docker-API and compose spelling.
  { desc: 'privileged: true', body: () => ({ ...ok(), privileged: true }), status: 400, code: 'invalid_field', field: 'privileged' },
  { desc: 'HostConfig', body: () => ({ ...ok(), HostConfig: { Privileged: true, Binds: ['/:/host'] } }), status: 400, code: 'invalid_field', field: 'HostConfig' },
  { desc: 'binds with the docker socket', body: () => ({ ...ok(), binds: ['/var/run/docker.sock:/var/run/docker.sock'] }), status: 400, code: 'invalid_field', field: 'binds' },
  { desc: 'volumes', body: () => ({ ...ok(), volumes: ['/etc:/host-etc'] }), status: 400, code: 'invalid_field', field: 'volumes' },
  { desc: 'cap_add', body: () => ({ ...ok(), cap_add: ['SYS_ADMIN'] }), status: 400, code: 'invalid_field', field: 'cap_add' },
  { desc: 'network_mode: host', body: () => ({ ...ok(), network_mode: 'host' }), status: 400, code: 'invalid_field', field: 'network_mode' },
  { desc: 'ports publishing', body: () => ({ ...ok(), ports: ['0.0.0.0:2375:2375'] }), status: 400, code: 'invalid_field', field: 'ports' },
  { desc: 'unknown top-level key', body: () => ({ ...ok(), command: ['sh', '-c', 'id'] }), status: 400, code: 'invalid_field', field: 'command' },
  // Networks.
  { desc: 'network host', body: () => ({ ...ok(), network: 'host' }), status: 400, code: 'network_not_allowed', field: 'network' },
  { desc: 'network bridge', body: () => ({ ...ok(), network: 'bridge' }), status: 400, code: 'network_not_allowed', field: 'network' },
  { desc: 'network container:<id>', body: () => ({ ...ok(), network: 'container:abc' }), status: 400, code: 'network_not_allowed', field: 'network' },
  { desc: 'unknown network', body: () => ({ ...ok(), network: 'no-such-net-xyz' }), status: 400, code: 'network_not_allowed', field: 'network' },
  // Images.
  { desc: 'disallowed image alpine', body: () => ({ ...ok(), image: 'alpine' }), status: 400, code: 'image_not_allowed', field: 'image' },
  { desc: 'image with spaces', body: () => ({ ...ok(), image: 'mock-app:dev --privileged' }), status: 400, code: 'invalid_field', field: 'image' },
  { desc: 'image from another registry with an allowed-looking name', body: () => ({ ...ok(), image: 'evil.example/mock-app:dev' }), status: 400, code: 'image_not_allowed', field: 'image' },
  { desc: 'image with path traversal', body: () => ({ ...ok(), image: '../mock-app:dev' }), status: 400, code: 'invalid_field', field: 'image' },
  // Bodies: size, syntax, shape, types.
  { desc: 'oversized body (> 64 KiB)', body: () => ({ ...ok(), envs: { BIG: 'x'.repeat(70 * 1024) } }), status: 413, code: 'body_too_large' },
  { desc: 'invalid JSON text', raw: () => '{"name": "evil", "image": ', status: 400, code: 'invalid_json' },
  { desc: 'not JSON at all', raw: () => 'name=evil&image=mock-app:dev', status: 400, code: 'invalid_json' },
  { desc: 'JSON array body', raw: () => JSON.stringify([ok()]), status: 400, code: 'invalid_json' },
  { desc: 'JSON string body', raw: () => '"evil"', status: 400, code: 'invalid_json' },
  { desc: 'name is a number', body: () => ({ ...ok(), name: 42 }), status: 400, code: 'invalid_field', field: 'name' },
  { desc: 'envs is an array', body: () => ({ ...ok(), envs: ['A=1'] }), status: 400, code: 'invalid_field', field: 'envs' },
  { desc: 'labels is null', body: () => ({ ...ok(), labels: null }), status: 400, code: 'invalid_field', field: 'labels' },
  { desc: 'env value is a number', body: () => ({ ...ok(), envs: { A: 1 } }), status: 400, code: 'invalid_field', field: 'envs.A' },
  { desc: 'env key with =', body: () => ({ ...ok(), envs: { 'A=B': 'c' } }), status: 400, code: 'invalid_field', field: 'envs.A=B' },
  { desc: 'env value with NUL', body: () => ({ ...ok(), envs: { A: 'x\u0000LD_PRELOAD=/x.so' } }), status: 400, code: 'invalid_field', field: 'envs.A' },
  { desc: 'too many labels', body: () => ({ ...ok(), labels: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${i}`, 'v'])) }), status: 400, code: 'limit_exceeded', field: 'labels' },
  { desc: 'port 0', body: () => ({ ...ok(), port: 0 }), status: 400, code: 'invalid_field', field: 'port' },
  { desc: 'port 70000', body: () => ({ ...ok(), port: 70000 }), status: 400, code: 'invalid_field', field: 'port' },
  { desc: 'port as a string', body: () => ({ ...ok(), port: '9000' }), status: 400, code: 'invalid_field', field: 'port' },
  { desc: 'memory above the cap', body: () => ({ ...ok(), limits: { memoryMb: 1_000_000 } }), status: 400, code: 'limit_exceeded', field: 'limits.memoryMb' },
  { desc: 'cpus above the cap', body: () => ({ ...ok(), limits: { cpus: 64 } }), status: 400, code: 'limit_exceeded', field: 'limits.cpus' },
  { desc: 'pids unlimited (-1)', body: () => ({ ...ok(), limits: { pids: -1 } }), status: 400, code: 'limit_exceeded', field: 'limits.pids' },
  { desc: 'unknown limit', body: () => ({ ...ok(), limits: { swapMb: 1 } }), status: 400, code: 'invalid_field', field: 'limits.swapMb' },
  { desc: 'routing not a mode', body: () => ({ ...ok(), routing: 'host || PathPrefix(`/`)' }), status: 400, code: 'invalid_field', field: 'routing' },
  { desc: 'healthCheck with credentials', body: () => ({ ...ok(), healthCheck: 'http://u:p@x/health' }), status: 400, code: 'invalid_field', field: 'healthCheck' },
  { desc: 'healthCheck file scheme', body: () => ({ ...ok(), healthCheck: 'file:///etc/passwd' }), status: 400, code: 'invalid_field', field: 'healthCheck' },
  // Path traversal in :nameOrId (sent raw: fetch would normalise `%2e%2e` away).
  { desc: 'GET ..%2F..%2Fetc', method: 'GET', path: '/deploy/..%2F..%2Fetc', status: 400, code: 'invalid_field', field: 'nameOrId' },
  { desc: 'PUT ..%2F..%2Fetc', method: 'PUT', path: '/deploy/..%2F..%2Fetc', status: 400, code: 'invalid_field', field: 'nameOrId' },
  { desc: 'DELETE ..%2F..%2Fetc', method: 'DELETE', path: '/deploy/..%2F..%2Fetc', status: 400, code: 'invalid_field', field: 'nameOrId' },
  { desc: 'GET %2e%2e', method: 'GET', path: '/deploy/%2e%2e', status: 400, code: 'invalid_field', field: 'nameOrId' },
  { desc: 'DELETE %2e%2e', method: 'DELETE', path: '/deploy/%2e%2e', status: 400, code: 'invalid_field', field: 'nameOrId' },
  { desc: 'PUT %2e%2e', method: 'PUT', path: '/deploy/%2e%2e', status: 400, code: 'invalid_field', field: 'nameOrId' },
  { desc: 'POST %2e%2e/stop', method: 'POST', path: '/deploy/%2e%2e/stop', status: 400, code: 'invalid_field', field: 'nameOrId' },
  { desc: 'GET bad percent-encoding', method: 'GET', path: '/deploy/%E0%A4%A', status: 400, code: 'invalid_field', field: 'nameOrId' },
  { desc: 'DELETE a name with a NUL', method: 'DELETE', path: '/deploy/evil%00', status: 400, code: 'invalid_field', field: 'nameOrId' },
  { desc: 'GET unknown name', method: 'GET', path: '/deploy/evil', status: 404, code: 'not_found', field: 'nameOrId' },
  { desc: 'DELETE unknown container id', method: 'DELETE', path: `/deploy/${'a'.repeat(64)}`, status: 404, code: 'not_found', field: 'nameOrId' },
];

async function send(c: Case): Promise<RawResponse> {
  const headers = { token, 'content-type': 'application/json' };
  if (c.path) return rawRequest(stack.api, c.method ?? 'GET', c.path, { headers });
  const body = c.raw ? c.raw() : JSON.stringify(c.body!());
  return rawRequest(stack.api, c.method ?? 'POST', '/deploy', { headers, body });
}

/** Instance containers of this run's spawner (the spawner's own container carries spawner.id too, not origin). */
async function containersOfThisSpawner() {
  return docker.listContainers({ all: true, filters: { label: [`spawner.id=${stack.spawnerId}`, 'origin=spawner'] } });
}

describe('hostile deploy requests', () => {
  it(`refuses all ${CASES.length} with a 4xx problem and creates nothing`, async () => {
    expect(CASES.length).toBeGreaterThanOrEqual(25);
    const failures: string[] = [];
    for (const c of CASES) {
      const res = await send(c);
      try {
        expectProblem(res, c.status, c.code, c.field);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        // Problem bodies never echo an oversized input or leak a stack.
        expect(res.text.length).toBeLessThan(2_000);
        expect(res.text).not.toMatch(/at [\w.]+ \(|node_modules|\/app\//);
      } catch (err) {
        failures.push(`${c.desc}: ${(err as Error).message.split('\n')[0]} — got ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);

    // No row, no container, and Docker never even saw a create.
    const list = await jsonRequest(stack.api, token, 'GET', '/deploy');
    expect(list.json).toEqual({ instances: [] });
    expect(await containersOfThisSpawner()).toEqual([]);
    expect(await createEventsOf(stack.spawnerId, `${stack.runId}-`, since)).toEqual([]);
    // The spawner is still healthy after all of that.
    expect((await rawRequest(stack.api, 'GET', '/healthz')).status).toBe(200);
  });

  it('answers 409 to a duplicate name and keeps exactly one container (also under concurrency)', async () => {
    const first = await jsonRequest(stack.api, token, 'POST', '/deploy', { ...ok(), name: 'dup', envs: { IDLE: '0' } });
    expect(first.status, first.text).toBe(200);
    const second = await jsonRequest(stack.api, token, 'POST', '/deploy', { ...ok(), name: 'dup', image: IMAGES.mockApp });
    expectProblem(second, 409, 'conflict', 'name');

    // Five at once for a fresh name: exactly one wins.
    const racers = await Promise.all(Array.from({ length: 5 }, () => jsonRequest(stack.api, token, 'POST', '/deploy', { ...ok(), name: 'dup-race' })));
    expect(racers.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409]);
    for (const r of racers.filter((x) => x.status === 409)) expectProblem(r, 409, 'conflict', 'name');

    const mine = await containersOfThisSpawner();
    const byInstance = (n: string) => mine.filter((c) => c.Labels['spawner.instance'] === n);
    expect(byInstance('dup').map((c) => c.Id)).toEqual([first.json.id]);
    expect(byInstance('dup-race')).toHaveLength(1);
    expect(mine).toHaveLength(2);
    const list = await jsonRequest(stack.api, token, 'GET', '/deploy');
    expect(list.json.instances.map((i: { name: string }) => i.name).sort()).toEqual(['dup', 'dup-race']);

    // Over the whole file, Docker saw exactly the two legitimate creates.
    const creates = await createEventsOf(stack.spawnerId, `${stack.runId}-`, since);
    expect(creates.map((e) => e.Actor.Attributes['spawner.instance']).sort()).toEqual(['dup', 'dup-race']);
  });

  it('cannot touch a legitimate instance through hostile paths or a foreign-looking id', async () => {
    const dup = await jsonRequest(stack.api, token, 'GET', '/deploy/dup');
    expect(dup.status).toBe(200);
    for (const path of ['/deploy/dup%2F..%2Fdup', '/deploy/dup%20', '/deploy/DUP', `/deploy/${String(dup.json.id).slice(0, 11)}`]) {
      const res = await rawRequest(stack.api, 'DELETE', path, { headers: { token } });
      expect(res.status, `${path}: ${res.text}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(String(res.headers['content-type'])).toContain('application/problem+json');
    }
    const info = await docker.getContainer(String(dup.json.id)).inspect();
    expect(info.State.Status).toBe('running');
  });
});
