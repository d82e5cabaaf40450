import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSpawnerClient } from './spawner-client.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A stub spawner on 127.0.0.1 that records requests and answers with `reply`. */
async function stub(reply: (res: ServerResponse, seen: Seen) => void) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(s);
      reply(res, s);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { seen, baseUrl, client: createSpawnerClient({ baseUrl, token: 's3cret', timeoutMs: 2_000 }) };
}

function json(res: ServerResponse, status: number, body: unknown, type = 'application/json') {
  res.writeHead(status, { 'content-type': type }).end(JSON.stringify(body));
}

const deployed = { id: 'c1', name: 'alice', status: 'running', cookie: { name: 'instance', value: 'alice.Zx9_-' } };

describe('spawner client', () => {
  it('POSTs /deploy with the token header and JSON body, and parses 201', async () => {
    const { seen, client } = await stub((res) => json(res, 201, { ...deployed, extra: 1 }));
    const r = await client.deploy({ name: 'alice', image: 'mock-app:dev', envs: { CONNSTR: 'x' } });
    expect(r).toEqual({ ok: true, value: deployed });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/deploy' });
    expect(seen[0]?.headers.token).toBe('s3cret');
    expect(seen[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ name: 'alice', image: 'mock-app:dev', envs: { CONNSTR: 'x' } });
  });

  it('returns the problem+json of a refusal', async () => {
    const problem = { type: 'about:blank', title: 'Conflict', status: 409, detail: 'alice exists', code: 'conflict' };
    const { client } = await stub((res) => json(res, 409, problem, 'application/problem+json'));
    const r = await client.deploy({ name: 'alice', image: 'mock-app:dev' });
    expect(r).toEqual({ ok: false, problem: { ...problem, field: undefined } });
  });

  it('turns a non-JSON error body into a problem with the status and a short detail', async () => {
    const { client } = await stub((res) => res.writeHead(500).end('x'.repeat(1000)));
    const r = await client.deploy({ name: 'alice', image: 'mock-app:dev' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problem.status).toBe(500);
    expect(r.problem.detail).toHaveLength(300);
  });

  it('rejects a success without a usable routing cookie', async () => {
    const bad = { ...deployed, cookie: { name: 'instance', value: 'a;b' } };
    const { client } = await stub((res) => json(res, 201, bad));
    const r = await client.deploy({ name: 'alice', image: 'mock-app:dev' });
    expect(r).toMatchObject({ ok: false, problem: { status: 502, code: 'bad_response' } });
  });

  it('GETs /deploy/<name> url-encoded and maps 404', async () => {
    const { seen, client } = await stub((res, s) =>
      s.url === '/deploy/bob'
        ? json(res, 200, { id: 'c2', name: 'bob', image: 'mock-app:dev', status: 'exited' })
        : json(res, 404, { title: 'Not Found', status: 404, code: 'not_found' }),
    );
    expect(await client.getDeploy('bob')).toEqual({
      ok: true,
      value: { id: 'c2', name: 'bob', image: 'mock-app:dev', status: 'exited' },
    });
    expect(await client.getDeploy('a/b')).toMatchObject({ ok: false, problem: { status: 404, code: 'not_found' } });
    expect(seen[1]?.url).toBe('/deploy/a%2Fb');
  });

  it('GETs /runtimes with the token and keeps reference, title, version, description, present', async () => {
    const { seen, client } = await stub((res) => json(res, 200, { runtimes: [
      { reference: 'mock-app:dev', present: true, title: 'Mock app', version: '1.0.0', description: 'd', id: 'sha256:x' },
      { reference: 'reg.example/a:1', present: false, title: null },
      { title: 'no reference: dropped' },
    ] }));
    expect(await client.runtimes()).toEqual({ ok: true, value: [
      { reference: 'mock-app:dev', present: true, title: 'Mock app', version: '1.0.0', description: 'd' },
      { reference: 'reg.example/a:1', present: false, title: null, version: null, description: null },
    ] });
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/runtimes', headers: { token: 's3cret' } });
  });

  it('rejects a runtimes answer without a list', async () => {
    const { client } = await stub((res) => json(res, 200, { runtimes: 'nope' }));
    expect(await client.runtimes()).toMatchObject({ ok: false, problem: { code: 'bad_response' } });
  });

  it('reports an unreachable spawner as 502 spawner_unreachable', async () => {
    // Grab a free port, then close it so nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const client = createSpawnerClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2_000 });
    const r = await client.deploy({ name: 'alice', image: 'mock-app:dev' });
    expect(r).toMatchObject({ ok: false, problem: { status: 502, code: 'spawner_unreachable' } });
  });

  it('gives up after the timeout with 504 spawner_timeout', async () => {
    const { baseUrl } = await stub(() => {}); // never answers
    const client = createSpawnerClient({ baseUrl, timeoutMs: 100 });
    const r = await client.getDeploy('alice');
    expect(r).toMatchObject({ ok: false, problem: { status: 504, code: 'spawner_timeout' } });
  });
});
