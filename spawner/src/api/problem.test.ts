import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SpawnerError } from '../errors.js';
import { createProblemMiddleware, problemMiddleware, toProblem } from './problem.js';

describe('toProblem', () => {
  it('maps a SpawnerError to RFC 9457 fields', () => {
    const p = toProblem(new SpawnerError('label_forbidden', 'no traefik labels', 'labels.traefik.enable'), '/instances');
    expect(p).toEqual({
      status: 400,
      body: {
        type: 'https://spawner.dev/problems/label_forbidden', title: 'Label not allowed', status: 400,
        detail: 'no traefik labels', code: 'label_forbidden', field: 'labels.traefik.enable', instance: '/instances',
      },
    });
  });

  it('carries Retry-After, rounded up to whole seconds', () => {
    const p = toProblem(new SpawnerError('over_capacity', 'busy', undefined, 2.2));
    expect(p).toMatchObject({ status: 503, retryAfter: 3, body: { code: 'over_capacity' } });
    expect(p.body).not.toHaveProperty('field');
    expect(p.body).not.toHaveProperty('instance');
  });

  it.each([
    ['an Error', new Error('connect ECONNREFUSED /var/run/docker.sock token=abc')],
    ['a string', 'password=hunter2'],
    ['null', null],
    ['an object with a message', { message: 'secret', stack: 'at x' }],
    ['a 5xx http-error', { type: 'entity.too.large', status: 500, message: 'secret' }],
  ])('hides %s behind a generic 500', (_d, err) => {
    const p = toProblem(err);
    expect(p).toEqual({
      status: 500,
      body: {
        type: 'https://spawner.dev/problems/internal', title: 'Internal error', status: 500,
        detail: 'An internal error occurred.', code: 'internal',
      },
    });
  });

  it.each([
    ['entity.too.large', 413, 'body_too_large'],
    ['entity.parse.failed', 400, 'invalid_json'],
    ['charset.unsupported', 415, 'invalid_json'],
    ['request.aborted', 400, 'invalid_json'],
  ] as const)('maps body-parser %s', (type, status, code) => {
    const p = toProblem(Object.assign(new Error('Unexpected token s in "secret"'), { type, status, expose: true }));
    expect(p.body.code).toBe(code);
    expect(p.body.detail).not.toContain('secret');
  });
});

describe('problemMiddleware over HTTP', () => {
  let server: Server;
  let base = '';
  const onError = vi.fn();

  beforeAll(async () => {
    const app = express();
    app.use(express.json({ limit: 64 }));
    app.post('/echo', (req: Request, res: Response) => { res.json(req.body as unknown); });
    app.get('/busy', () => { throw new SpawnerError('over_capacity', 'too many starts', undefined, 5); });
    app.get('/auth', () => { throw new SpawnerError('unauthorized', 'token required'); });
    app.get('/boom', () => { throw new Error('db at /var/lib/secret failed'); });
    app.get('/async', async () => { await Promise.resolve(); throw new SpawnerError('not_found', 'no such instance', 'nameOrId'); });
    app.use(createProblemMiddleware({ onError }));
    server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => { server.close(() => resolve()); }));

  const problem = async (res: globalThis.Response) => ({
    status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown>,
  });

  it('sends problem+json with Retry-After', async () => {
    const res = await fetch(`${base}/busy?token=abc`);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const p = await problem(res);
    expect(p.status).toBe(503);
    expect(p.type).toMatch(/^application\/problem\+json/);
    expect(p.body).toMatchObject({ code: 'over_capacity', detail: 'too many starts', instance: '/busy' });
  });

  it('adds WWW-Authenticate to 401', async () => {
    const res = await fetch(`${base}/auth`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('never leaks unknown errors, but reports them to onError', async () => {
    const res = await fetch(`${base}/boom`);
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(text).not.toMatch(/secret|var\/lib|at /);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'db at /var/lib/secret failed' }), expect.anything());
  });

  it('handles rejected async handlers (express 5)', async () => {
    const p = await problem(await fetch(`${base}/async`));
    expect(p).toMatchObject({ status: 404, body: { code: 'not_found', field: 'nameOrId' } });
  });

  const post = (body: string) => fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('maps malformed JSON to invalid_json without echoing the body', async () => {
    const p = await problem(await post('{"token":"s3cr3t",'));
    expect(p).toMatchObject({ status: 400, body: { code: 'invalid_json' } });
    expect(JSON.stringify(p.body)).not.toContain('s3cr3t');
  });

  it('maps oversized bodies to body_too_large', async () => {
    const p = await problem(await post(JSON.stringify({ a: 'x'.repeat(200) })));
    expect(p).toMatchObject({ status: 413, body: { code: 'body_too_large' } });
  });

  it('defers to express when headers are already sent', () => {
    const next = vi.fn();
    const err = new Error('late');
    problemMiddleware(err, {} as Request, { headersSent: true } as Response, next);
    expect(next).toHaveBeenCalledWith(err);
  });
});
