/**
 * The original API exactly as a shell script drives it: curl, `-d` bodies (curl's default
 * content type is application/x-www-form-urlencoded, which the original accepted as JSON), and
 * the `token:` header. Only 127.0.0.1 URLs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CurlResult { status: number; body: any; text: string; contentType: string }

const MARK = '\n__CURL__';

export async function curl(url: string, args: string[] = []): Promise<CurlResult> {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`curl only to 127.0.0.1, not ${url}`);
  const { stdout } = await run('curl', ['-sS', '--max-time', '120', '-w', `${MARK}%{http_code} %{content_type}`, ...args, url]);
  const at = stdout.lastIndexOf(MARK);
  const text = stdout.slice(0, at);
  const [code, ...ct] = stdout.slice(at + MARK.length).split(' ');
  let body: unknown;
  try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
  return { status: Number(code), body, text, contentType: ct.join(' ') };
}
