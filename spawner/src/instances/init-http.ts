/**
 * One init attempt over HTTP: POST JSON to the instance's own address and read at most `maxBytes`
 * of the answer. Distinguishes what is worth retrying (the app is not listening yet, or says it is
 * not ready: 429/502/503/504) from a definite answer.
 */
import { request } from 'undici';

export type Attempt =
  | { kind: 'retry'; why: string }
  | { kind: 'fail'; why: string }
  | { kind: 'ok'; json: unknown; text: string };

export type InitPost = (url: string, body: string, headers: Record<string, string>, opts: { timeoutMs: number; maxBytes: number; signal: AbortSignal }) => Promise<Attempt>;

const RETRY_STATUS = new Set([429, 502, 503, 504]);

export const postInit: InitPost = async (url, body, headers, opts) => {
  let res;
  try {
    res = await request(url, {
      method: 'POST', body, headers: { 'content-type': 'application/json', ...headers },
      headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs,
      signal: AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]),
    });
  } catch (err) {
    // Connection refused/reset, timeout: the app is not (yet) answering. The message names a
    // socket error, never anything the app sent.
    return { kind: 'retry', why: (err as { code?: string }).code ?? 'no answer' };
  }
  if (RETRY_STATUS.has(res.statusCode)) {
    await res.body.dump();
    return { kind: 'retry', why: `status ${res.statusCode}` };
  }
  if (res.statusCode < 200 || res.statusCode > 299) {
    await res.body.dump();
    return { kind: 'fail', why: `the instance answered status ${res.statusCode}` };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > opts.maxBytes) {
        res.body.destroy();
        return { kind: 'fail', why: `the answer is larger than ${opts.maxBytes} bytes` };
      }
      chunks.push(chunk as Buffer);
    }
  } catch {
    return { kind: 'retry', why: 'the answer was cut off' };
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return { kind: 'ok', json: JSON.parse(text), text };
  } catch {
    return { kind: 'fail', why: 'the answer is not JSON' };
  }
};
