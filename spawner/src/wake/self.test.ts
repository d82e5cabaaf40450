/**
 * GET /.spawner/self as the spec: an instance presenting its own credential from its own address
 * learns its own name, revision, URLs, routing and init status; anything else is the same 401,
 * and repeated failures from one address are rate limited.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BackoffTable } from '../auth/rate-limit.js';
import { IDENTITY_ENV, SELF_URL_ENV } from '../instances/identity.js';
import { InstanceService } from '../instances/service.js';
import type { DeploySpec } from '../instances/types.js';
import { memoryDeps } from '../testing/fixtures.js';
import { createWakeApp } from './app.js';
import { clientAddress } from './self.js';

const cleanups: (() => void)[] = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

const spec = (name: string, over: Partial<DeploySpec> = {}): DeploySpec => ({
  name, image: 'mock-app:latest', network: 'spawner', port: 9000, routing: 'cookie', public: false, egress: true,
  labels: {}, traefikLabels: {}, env: {}, limits: { memoryMb: 256, cpus: 0.5, pids: 256 }, ...over,
});

async function harness(maxFailures = 10) {
  const deps = memoryDeps({ cfg: { publicUrl: 'https://apps.example.com', appsDomain: 'apps.example.com' } });
  const service = new InstanceService(deps);
  const limiter = new BackoffTable({ maxFailures, windowSec: 60, baseBackoffSec: 30, maxBackoffSec: 60, maxEntries: 100 }, Date.now);
  const self = { cfg: deps.cfg, instances: deps.instances, identities: deps.identities, service, init: deps.init, limiter };
  const waker = { inFlight: () => false } as never;
  const server: Server = createWakeApp({ cfg: deps.cfg, instances: deps.instances, waker, service, probeNonce: 'n', isClosing: () => false, self }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => { server.closeAllConnections(); server.close(); deps.db.close(); });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.spawner/self`;
  /** Deploys and returns the instance's credential and address, as its container would see them. */
  const deploy = async (name: string, over: Partial<DeploySpec> = {}) => {
    await service.deploy(spec(name, over));
    const c = [...deps.runtime.containers.values()].find((x) => x.name === `spawner-${name}`);
    return { token: String(c?.spec.env[IDENTITY_ENV]), ip: String(Object.values(c?.ips ?? {})[0]), env: c?.spec.env ?? {} };
  };
  const ask = async (token: string | undefined, from: string) => {
    const r = await fetch(base, { headers: { 'x-forwarded-for': from, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } });
    return { status: r.status, body: await r.text(), type: r.headers.get('content-type'), retryAfter: r.headers.get('retry-after') };
  };
  return { deps, service, deploy, ask };
}

describe('GET /.spawner/self', () => {
  it('answers the instance its own name, revision, URLs, routing and init status', async () => {
    const h = await harness();
    const a = await h.deploy('alice', { routing: 'host', init: { path: '/init', payload: {}, when: 'once', deadlineSec: 5 } });
    const r = await h.ask(a.token, a.ip);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({
      name: 'alice', revision: null, routing: 'host', urls: ['https://alice.apps.example.com/'], init: { status: 'pending' },
    });
    expect(a.env[SELF_URL_ENV]).toBe('http://traefik/.spawner/self');
  });

  it('the credential is not the routing secret and only its hash is stored', async () => {
    const h = await harness();
    const res = await h.service.deploy(spec('alice'));
    const c = [...h.deps.runtime.containers.values()][0];
    const token = String(c?.spec.env[IDENTITY_ENV]);
    expect(token).toMatch(/^sid1\.[\w-]{43}$/);
    expect(token).not.toContain(res.cookie.value.split('.')[1] ?? '-');
    expect(JSON.stringify(res)).not.toContain(token);
    const dump = JSON.stringify([h.deps.db.prepare('SELECT * FROM instance_identity').all(), h.deps.db.prepare('SELECT * FROM events').all()]);
    expect(dump).not.toContain(token);
  });

  it('missing, malformed, forged, another instance\'s, or revoked: the same 401', async () => {
    const h = await harness();
    const a = await h.deploy('alice');
    const b = await h.deploy('bob');
    const forged = `sid1.${'A'.repeat(43)}`;
    const answers = [
      await h.ask(undefined, a.ip),
      await h.ask('not-a-token', a.ip),
      await h.ask(forged, a.ip),
      await h.ask(b.token, a.ip), // bob's credential, presented from alice's address
    ];
    h.service.revokeIdentity('alice');
    answers.push(await h.ask(a.token, a.ip));
    for (const r of answers) {
      expect(r.status).toBe(401);
      expect(r.type).toContain('application/problem+json');
    }
    const bodies = new Set(answers.map((r) => { const p = JSON.parse(r.body) as Record<string, unknown>; delete p.instance; return JSON.stringify(p); }));
    expect(bodies.size).toBe(1);
    expect(answers.map((r) => r.body).join()).not.toMatch(/alice|bob/);
    expect((await h.ask(b.token, b.ip)).status).toBe(200); // bob from bob's own address
  });

  it('rate limits failures per client address (429 + Retry-After), other addresses unaffected', async () => {
    const h = await harness(3);
    const a = await h.deploy('alice');
    for (let i = 0; i < 3; i++) expect((await h.ask('nope', '10.9.9.9')).status).toBe(401);
    const blocked = await h.ask(a.token, '10.9.9.9');
    expect(blocked.status).toBe(429);
    expect(JSON.parse(blocked.body)).toMatchObject({ code: 'rate_limited' });
    expect(Number(blocked.retryAfter)).toBeGreaterThanOrEqual(29);
    expect((await h.ask(a.token, a.ip)).status).toBe(200);
  });
});

describe('clientAddress', () => {
  it('takes the right-most X-Forwarded-For entry (the one the proxy appended), else the peer', () => {
    expect(clientAddress('1.2.3.4, 10.0.0.5', '10.0.0.1')).toBe('10.0.0.5');
    expect(clientAddress(undefined, '::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientAddress('', '10.0.0.1')).toBe('10.0.0.1');
  });
});

describe('serverTiming', () => {
  it('lists the init phase only when the wake ran init', async () => {
    const { serverTiming } = await import('./app.js');
    const t = { start: 1, health: 2, route: 3, probe: 4, total: 15 };
    expect(serverTiming({ started: true, timings: t })).toBe('start;dur=1, health;dur=2, route;dur=3, probe;dur=4, total;dur=15');
    expect(serverTiming({ started: true, timings: { ...t, init: 5 } })).toBe('start;dur=1, health;dur=2, route;dur=3, probe;dur=4, init;dur=5, total;dur=15');
  });
});
