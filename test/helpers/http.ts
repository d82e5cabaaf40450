/**
 * Raw HTTP for e2e tests. node:http sends the path exactly as given (fetch/undici would apply the
 * WHATWG URL parser and turn `/deploy/%2e%2e` into `/`), so hostile paths really reach the server.
 * Also: a problem+json assertion shared by the API tests.
 */
import { request } from 'node:http';
import { expect } from 'vitest';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: any;
}

export interface RawOptions {
  headers?: Record<string, string>;
  /** Sent verbatim (string or bytes); not JSON-encoded. */
  body?: string | Buffer;
  timeoutMs?: number;
}

/** `base` is http://127.0.0.1:PORT; `path` goes on the wire unchanged. */
export function rawRequest(base: string, method: string, path: string, opts: RawOptions = {}): Promise<RawResponse> {
  const url = new URL(base);
  if (url.hostname !== '127.0.0.1') throw new Error(`test traffic goes to 127.0.0.1 only, not ${url.hostname}`);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = Buffer.byteLength(opts.body);
    const req = request({ host: url.hostname, port: Number(url.port), method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** JSON request with the original `token:` header (or none when token is ''). */
export function jsonRequest(base: string, token: string, method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...extra };
  if (token) headers.token = token;
  return rawRequest(base, method, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** Asserts an RFC 9457 problem with a stable code (and field, when given). */
export function expectProblem(res: RawResponse, status: number, code: string, field?: string): void {
  const ctx = `${res.status} ${res.text.slice(0, 300)}`;
  expect(res.status, ctx).toBe(status);
  expect(String(res.headers['content-type']), ctx).toContain('application/problem+json');
  expect(res.json?.code, ctx).toBe(code);
  expect(res.json?.status, ctx).toBe(status);
  expect(res.json?.type, ctx).toBe(`https://spawner.dev/problems/${code}`);
  expect(typeof res.json?.title, ctx).toBe('string');
  if (field !== undefined) expect(res.json?.field, ctx).toBe(field);
}
