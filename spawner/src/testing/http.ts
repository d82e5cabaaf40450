/** One raw HTTP request to a test server on 127.0.0.1 (no client library: exact headers, no retries). Test-only. */
import http, { type IncomingHttpHeaders } from 'node:http';

export interface Res { status: number; headers: IncomingHttpHeaders; body: string; json: () => any }

export function rawRequest(port: number, method: string, path: string, headers: Record<string, string>, payload?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}
