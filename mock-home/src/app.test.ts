import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHomeApp } from './app.js';
import type { HomeConfig } from './config.js';
import type { DeployResult, InstanceInfo, Problem, Result, RuntimeOption, SpawnerClient } from './spawner-client.js';

const config: HomeConfig = {
  port: 0,
  spawnerApiUrl: 'http://spawner.invalid',
  spawnerToken: 't',
  appImage: 'mock-app:dev',
  appEnvs: { CONNSTR: 'postgres://db/app' },
  homePath: '/home',
  spawnerTimeoutMs: 1_000,
};
const cookie = { name: 'instance', value: 'alice.Zx9_-' };
const deployed: DeployResult = { id: 'c1', name: 'alice', status: 'running', cookie };
const running: InstanceInfo = { id: 'c1', name: 'alice', image: 'mock-app:dev', status: 'running' };
const catalogue: RuntimeOption[] = [
  { reference: 'mock-app:dev', title: 'Mock app', version: '1.0.0', description: null, present: true },
  { reference: 'mock-app:dev-v2', title: 'Mock app v2', version: '2.0.0', description: null, present: true },
];
const refuse = (problem: Problem) => ({ ok: false, problem }) as const;

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

/** The app on 127.0.0.1 with a fake client; returns a fetch bound to it (redirects not followed). */
async function start(client: Partial<SpawnerClient> = {}, cfg: Partial<HomeConfig> = {}) {
  const fake = {
    deploy: vi.fn(async (): Promise<Result<DeployResult>> => ({ ok: true, value: deployed })),
    getDeploy: vi.fn(async (): Promise<Result<InstanceInfo>> => ({ ok: true, value: running })),
    runtimes: vi.fn(async (): Promise<Result<RuntimeOption[]>> => ({ ok: true, value: catalogue })),
    ...client,
  };
  server = createServer(createHomeApp({ config: { ...config, ...cfg }, client: fake }));
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  type Headers = Record<string, string>;
  const get = (path: string, headers: Headers = {}) => fetch(base + path, { headers, redirect: 'manual' });
  const signup = (name: string, headers: Headers = {}, form: Record<string, string> = {}) =>
    fetch(`${base}${cfg.homePath ?? '/home'}/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ name, ...form }).toString(),
      redirect: 'manual',
    });
  return { fake, get, signup };
}

describe('home app: choice of runtime from the spawner catalogue', () => {
  it('offers every catalogue image, titled and versioned, the configured one preselected', async () => {
    const { get } = await start();
    const html = await (await get('/home')).text();
    expect(html).toContain('<select id="runtime" name="runtime">');
    expect(html).toContain('<option value="mock-app:dev" selected>Mock app 1.0.0 (mock-app:dev)</option>');
    expect(html).toContain('<option value="mock-app:dev-v2">Mock app v2 2.0.0 (mock-app:dev-v2)</option>');
  });

  it('keeps APP_IMAGE as the preselected choice when the catalogue lacks it', async () => {
    const { get } = await start({}, { appImage: 'mock-app:custom' });
    const html = await (await get('/home')).text();
    expect(html).toContain('<option value="mock-app:custom" selected>mock-app:custom</option>');
    expect(html).toContain('<option value="mock-app:dev-v2">');
  });

  it('deploys the picked runtime', async () => {
    const { fake, signup } = await start();
    const res = await signup('alice', {}, { runtime: 'mock-app:dev-v2' });
    expect(res.status).toBe(303);
    expect(fake.deploy).toHaveBeenCalledWith(expect.objectContaining({ name: 'alice', image: 'mock-app:dev-v2' }));
  });

  it('refuses a runtime the catalogue does not offer, without deploying', async () => {
    const { fake, signup } = await start();
    const res = await signup('alice', {}, { runtime: 'evil:latest' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Pick one of the offered runtimes.');
    expect(fake.deploy).not.toHaveBeenCalled();
  });

  it('without a catalogue (spawner refuses) shows no choice and deploys APP_IMAGE', async () => {
    const { fake, get, signup } = await start({ runtimes: async () => refuse({ status: 503, title: 'x' }) });
    expect(await (await get('/home')).text()).not.toContain('<select');
    await signup('alice');
    expect(fake.deploy).toHaveBeenCalledWith(expect.objectContaining({ image: 'mock-app:dev' }));
  });
});

describe('home app', () => {
  it('shows the accessible signup form to a visitor without a cookie', async () => {
    const { fake, get } = await start();
    const res = await get('/home');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('<h1>');
    expect(html).toContain('<form method="post" action="/home/signup">');
    expect(html).toContain('<label for="name">Pick a name</label>');
    expect(html).toContain('pattern="[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?"');
    expect(fake.getDeploy).not.toHaveBeenCalled();
  });

  it('shows the instance and its state to a visitor who signed up', async () => {
    const { fake, get } = await start();
    const html = await (await get('/home', { cookie: 'instance=alice.Zx9_-; home_instance_name=alice' })).text();
    expect(fake.getDeploy).toHaveBeenCalledWith('alice');
    expect(html).toContain('<dd>alice</dd>');
    expect(html).toContain('<dd>running</dd>');
    expect(html).toContain('<a class="button" href="/">Open my app</a>');
    expect(html).not.toContain('routing cookie');
  });

  it('offers a new signup when the remembered instance is gone', async () => {
    const gone = refuse({ status: 404, title: 'Not Found', code: 'not_found' });
    const { get } = await start({ getDeploy: async () => gone });
    const res = await get('/home', { cookie: 'home_instance_name=alice' });
    expect(await res.text()).toContain('no longer exists');
    expect(res.headers.getSetCookie()[0]).toMatch(/^home_instance_name=; Path=\/home; Expires=Thu, 01 Jan 1970/);
  });

  it('deploys, sets both cookies and redirects with 303 to /', async () => {
    const { fake, signup } = await start();
    const res = await signup('alice');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    expect(fake.deploy).toHaveBeenCalledWith({ name: 'alice', image: 'mock-app:dev', envs: config.appEnvs });
    expect(res.headers.getSetCookie()).toEqual([
      'instance=alice.Zx9_-; Path=/; HttpOnly; SameSite=Lax',
      'home_instance_name=alice; Path=/home; HttpOnly; SameSite=Lax',
    ]);
  });

  it('marks cookies Secure when Traefik says the request came over HTTPS', async () => {
    const { signup } = await start({}, { homePath: '/portal' });
    const res = await signup('alice', { 'x-forwarded-proto': 'https' });
    expect(res.headers.getSetCookie()).toEqual([
      'instance=alice.Zx9_-; Path=/; HttpOnly; Secure; SameSite=Lax',
      'home_instance_name=alice; Path=/portal; HttpOnly; Secure; SameSite=Lax',
    ]);
  });

  it.each(['', 'Bad_Name', '-alice', 'a'.repeat(64), '"><script>alert(1)</script>'])(
    'rejects %j locally without calling the spawner',
    async (name) => {
      const { fake, signup } = await start();
      const res = await signup(name);
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain('role="alert"');
      expect(html).toContain('aria-invalid="true"');
      expect(html).not.toContain('<script>');
      expect(fake.deploy).not.toHaveBeenCalled();
    },
  );

  it('shows a refusal with the spawner detail and code HTML-escaped, and the right status', async () => {
    const detail = '<script>alert("pwn")</script> & \'more\'';
    const { signup } = await start({
      deploy: async () => refuse({ status: 409, title: 'Conflict', detail, code: 'conflict<b>' }),
    });
    const res = await signup('alice');
    expect(res.status).toBe(409);
    const html = await res.text();
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>');
    expect(html).toContain('&lt;script&gt;alert(&quot;pwn&quot;)&lt;/script&gt; &amp; &#39;more&#39;');
    expect(html).toContain('<code>conflict&lt;b&gt;</code>');
    expect(html).toContain('<a href="/home">Back to home</a>');
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('answers health checks and unknown pages', async () => {
    const { get } = await start();
    const res = await get('/home/healthz');
    expect([res.status, await res.json()]).toEqual([200, { status: 'ok' }]);
    expect((await get('/home/nope')).status).toBe(404);
  });

  it('refuses an oversized form with a page, not a stack trace', async () => {
    const { fake, signup } = await start();
    const res = await signup('a'.repeat(10_000));
    expect(res.status).toBe(413);
    expect(await res.text()).toContain('could not be read');
    expect(fake.deploy).not.toHaveBeenCalled();
  });
});
