/** The real HTTP side of one init attempt, against a server on 127.0.0.1. */
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postInit } from './init-http.js';

const servers: http.Server[] = [];
afterEach(async () => { for (const s of servers.splice(0)) { s.closeAllConnections(); await new Promise((r) => s.close(r)); } });

async function serve(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  servers.push(s);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/init`;
}

const opts = { timeoutMs: 2_000, maxBytes: 1_000, signal: new AbortController().signal };

describe('postInit', () => {
  it('POSTs JSON with the given headers and parses a JSON answer', async () => {
    let seen: { method?: string; type?: string; key?: string; body: string } = { body: '' };
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        seen = { method: req.method, type: req.headers['content-type'], key: req.headers['idempotency-key'] as string, body };
        res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    expect(await postInit(url, '{"a":1}', { 'idempotency-key': 'k1' }, opts)).toEqual({ kind: 'ok', json: { ok: true }, text: '{"ok":true}' });
    expect(seen).toEqual({ method: 'POST', type: 'application/json', key: 'k1', body: '{"a":1}' });
  });

  it('500 fails at once; 503 is retried; both without the body in the reason', async () => {
    const url500 = await serve((_q, res) => { res.writeHead(500).end('secret-ish stack trace'); });
    expect(await postInit(url500, '{}', {}, opts)).toEqual({ kind: 'fail', why: 'the instance answered status 500' });
    const url503 = await serve((_q, res) => { res.writeHead(503).end('not yet'); });
    expect(await postInit(url503, '{}', {}, opts)).toEqual({ kind: 'retry', why: 'status 503' });
  });

  it('an answer over the cap fails, even when it is sent slowly in chunks', async () => {
    const url = await serve((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`"${'x'.repeat(600)}`);
      setTimeout(() => res.end(`${'y'.repeat(600)}"`), 20);
    });
    expect(await postInit(url, '{}', {}, opts)).toEqual({ kind: 'fail', why: 'the answer is larger than 1000 bytes' });
  });

  it('an answer that is not JSON fails', async () => {
    const url = await serve((_q, res) => { res.writeHead(200).end('<html>hello</html>'); });
    expect(await postInit(url, '{}', {}, opts)).toEqual({ kind: 'fail', why: 'the answer is not JSON' });
  });

  it('nothing listening is retried', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); });
    });
    expect(await postInit(`http://127.0.0.1:${port}/init`, '{}', {}, opts)).toEqual({ kind: 'retry', why: 'ECONNREFUSED' });
  });
});
