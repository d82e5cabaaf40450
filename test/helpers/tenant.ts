/**
 * Probes run from INSIDE an instance container, as its tenant's own code would: `node -e` in the
 * mock-app container (docker exec). Every probe has a short timeout and all run at once, so a
 * blocked reach costs the suite one timeout, not one per target.
 */
import { PassThrough } from 'node:stream';
import { docker } from './stack.js';

export type Probe =
  | { kind: 'http'; url: string; headers?: Record<string, string> }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string };

/** `open` / `http:<status>` are reaches; everything else (refused, timeout, notfound, …) is not. */
export type Outcome = string;
export const reached = (o: Outcome) => o === 'open' || o.startsWith('http:');

const SCRIPT = (probes: Probe[], timeoutMs: number) => `
const net = require('node:net');
const probes = ${JSON.stringify(probes)};
const code = (e) => { const c = (e && e.name === 'TimeoutError') ? 'TimeoutError' : (e && (e.cause && e.cause.code || e.code)) || (e && e.name) || 'error';
  return c === 'ECONNREFUSED' ? 'refused' : c === 'ENOTFOUND' || c === 'EAI_AGAIN' ? 'notfound'
    : c === 'TimeoutError' || c === 'AbortError' || c === 'ETIMEDOUT' || c === 'UND_ERR_CONNECT_TIMEOUT' ? 'timeout'
    : c === 'EHOSTUNREACH' || c === 'ENETUNREACH' ? 'unreachable' : c === 'ENOENT' ? 'nosocket' : 'error:' + c; };
const tcp = (opts) => new Promise((res) => {
  const s = net.connect(opts); const t = setTimeout(() => { s.destroy(); res('timeout'); }, ${timeoutMs});
  s.once('connect', () => { clearTimeout(t); s.destroy(); res('open'); });
  s.once('error', (e) => { clearTimeout(t); res(code(e)); });
});
const one = async (p) => {
  if (p.kind === 'tcp') return tcp({ host: p.host, port: p.port });
  if (p.kind === 'unix') return tcp({ path: p.path });
  try { const r = await fetch(p.url, { headers: p.headers || {}, redirect: 'manual', signal: AbortSignal.timeout(${timeoutMs}) });
    return 'http:' + r.status; } catch (e) { return code(e); }
};
// Exit once written: a lookup the resolver still waits on upstream (a name the tenant's DNS does
// not know, forwarded to a resolver this namespace cannot reach) must not hold the process.
Promise.all(probes.map(one)).then((r) => process.stdout.write(JSON.stringify(r), () => process.exit(0)));
`;

/** Runs every probe from inside `containerId`; the outcomes in the same order. */
export async function probeFrom(containerId: string, probes: Probe[], timeoutMs = 1_500): Promise<Outcome[]> {
  const exec = await docker.getContainer(containerId).exec({
    Cmd: ['node', '-e', SCRIPT(probes, timeoutMs)], AttachStdout: true, AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough().on('data', (b: Buffer) => out.push(b));
  const stderr = new PassThrough().on('data', (b: Buffer) => err.push(b));
  docker.modem.demuxStream(stream, stdout, stderr);
  await new Promise<void>((resolve, reject) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
    stream.once('error', reject);
  });
  const text = Buffer.concat(out).toString('utf8');
  if (!text) throw new Error(`probe script printed nothing: ${Buffer.concat(err).toString('utf8').slice(0, 500)}`);
  return JSON.parse(text) as Outcome[];
}

/** Each probe paired with its outcome, for readable failure messages. */
export function pairs(probes: Probe[], outcomes: Outcome[]): { probe: string; outcome: Outcome }[] {
  return probes.map((p, i) => ({
    probe: p.kind === 'http' ? p.url : p.kind === 'tcp' ? `${p.host}:${p.port}` : p.path,
    outcome: outcomes[i] ?? 'missing',
  }));
}
