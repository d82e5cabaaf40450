/**
 * Instance identity on real Docker and Traefik: code INSIDE an instance container calls
 * /.spawner/self through Traefik's public entrypoint with the credential it was given, and learns
 * only its own data; another instance's credential, a forged one, none, or a revoked one get the
 * same 401 (a forged X-Forwarded-For does not help: Traefik drops it); failures are rate limited;
 * the credential appears in no API response, log line or metric. Parameterised by runtime
 * (helpers/runtime-view.ts): on Swarm the code runs in the instance's task container.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, docker, type Stack } from './helpers/stack.js';
import { containerOfUnit, startRuntimeStack, teardownRuntimeStack } from './helpers/runtime-view.js';
import { IMAGES } from './helpers/docker-env.js';
import { execOut } from './helpers/exec.js';
import { spawnerLogSince } from './helpers/lifecycle.js';
import { pollUntil } from './helpers/poll.js';

let stack: Stack;
let token: string;
const inst: Record<string, { id: string; credential: string; ip: string; response: string }> = {};

beforeAll(async () => {
  ({ stack, token } = await startRuntimeStack());
  for (const name of ['id-a', 'id-b']) {
    const r = await api(stack, token, 'POST', '/deploy', { name, image: IMAGES.mockApp, envs: { IDLE: '0' } });
    expect(r.status).toBe(200);
    const info = await (await running(String(r.body.id))).inspect();
    const env = Object.fromEntries((info.Config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    inst[name] = { id: String(r.body.id), credential: String(env.SPAWNER_IDENTITY_TOKEN), ip: Object.values(info.NetworkSettings.Networks)[0]?.IPAddress ?? '', response: JSON.stringify(r.body) };
  }
});
afterAll(async () => teardownRuntimeStack(stack, 'identity'), 180_000);

/** The container that runs the instance now (on Swarm: its running task's). */
async function running(id: string) {
  const cid = await containerOfUnit(id);
  if (!cid) throw new Error(`${id}: nothing runs`);
  return docker.getContainer(cid);
}

/** From inside `name`'s container: GET $SPAWNER_SELF_URL with `credential` (default: its own). */
async function selfFrom(name: string, credential?: string, headers: Record<string, string> = {}) {
  const script = `const [cred, extra] = process.argv.slice(1);
const auth = cred === '-' ? {} : { authorization: 'Bearer ' + (cred === 'own' ? process.env.SPAWNER_IDENTITY_TOKEN : cred) };
fetch(process.env.SPAWNER_SELF_URL, { headers: { ...auth, ...JSON.parse(extra) } })
  .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), (e) => { console.error(String(e)); process.exit(3); });`;
  const r = await execOut(await running(inst[name]?.id ?? ''), ['node', '-e', script, credential ?? 'own', JSON.stringify(headers)]);
  if (r.code !== 0) throw new Error(`exec in ${name}: ${r.code} ${r.stderr}`);
  return JSON.parse(r.stdout) as { status: number; body: string };
}

describe('GET /.spawner/self from inside an instance', () => {
  it('with its own credential, an instance learns its own name, routing, URLs and init status, and nothing of another', async () => {
    const r = await pollUntil('self answers', async () => {
      const a = await selfFrom('id-a');
      return a.status === 200 ? a : undefined;
    }, { timeoutMs: 30_000 });
    expect(JSON.parse(r.body)).toEqual({ name: 'id-a', revision: 1, routing: 'cookie', urls: ['/'], init: null });
    expect(r.body).not.toContain('id-b');
    expect(JSON.parse((await selfFrom('id-b')).body)).toMatchObject({ name: 'id-b' });
  });

  it('another instance\'s, a forged, a malformed or no credential: the same 401', async () => {
    const answers = [
      await selfFrom('id-a', inst['id-b']?.credential),
      // A forged X-Forwarded-For naming b's address does not make b's credential a's.
      await selfFrom('id-a', inst['id-b']?.credential, { 'x-forwarded-for': inst['id-b']?.ip ?? '' }),
      await selfFrom('id-a', `sid1.${'x'.repeat(43)}`),
      await selfFrom('id-a', 'not-a-credential'),
      await selfFrom('id-a', '-'),
    ];
    const strip = (b: string) => { const p = JSON.parse(b) as Record<string, unknown>; delete p.instance; return JSON.stringify(p); };
    for (const a of answers) expect(a.status).toBe(401);
    expect(new Set(answers.map((a) => strip(a.body))).size).toBe(1);
    expect(answers.map((a) => a.body).join()).not.toMatch(/id-a|id-b/);
  });

  it('the credential is in no API response, log line or metric', async () => {
    const creds = Object.values(inst).map((i) => i.credential);
    expect(creds.every((c) => /^sid1\.[\w-]{43}$/.test(c))).toBe(true);
    const seen = [
      ...Object.values(inst).map((i) => i.response),
      JSON.stringify((await api(stack, token, 'GET', '/deploy')).body),
      JSON.stringify((await api(stack, token, 'GET', '/deploy/id-a')).body),
      JSON.stringify((await api(stack, token, 'GET', '/deploy/id-a/events')).body),
      await (await fetch(`${stack.api}/metrics`)).text(),
      await (await fetch(`${stack.traefikApi}/metrics`)).text(),
      await spawnerLogSince(stack, 0),
    ].join('\n');
    for (const c of creds) expect(seen).not.toContain(c);
  });

  it('failures are rate limited per client address; the instances are unaffected', async () => {
    let last = 0;
    for (let i = 0; i < 15 && last !== 429; i++) {
      last = (await fetch(`${stack.web}/.spawner/self`, { headers: { authorization: `Bearer sid1.${'y'.repeat(43)}` } })).status;
    }
    expect(last).toBe(429);
    expect((await selfFrom('id-b')).status).toBe(200);
  });

  it('a revoked credential is refused', async () => {
    const r = await api(stack, token, 'DELETE', '/deploy/id-b/identity');
    expect(r.body).toEqual({ name: 'id-b', identity: 'revoked', changed: true });
    expect((await selfFrom('id-b')).status).toBe(401);
    expect((await selfFrom('id-a')).status).toBe(200);
  });
});
