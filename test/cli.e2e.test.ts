/**
 * The CLI as a user runs it (the built `spawner/dist/cli.js`): client commands against a real
 * stack, `hash-password` output accepted by a real login, and `serve` refusing bad start-ups with
 * messages that name the field and what is allowed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, login, startStack, type Stack } from './helpers/stack.js';
import { IMAGES } from './helpers/docker-env.js';
import { verifyPassword } from '../spawner/src/auth/passwords.js';

const CLI = fileURLToPath(new URL('../spawner/dist/cli.js', import.meta.url));
const run = promisify(execFile);

async function cli(args: string[], opts: { env?: Record<string, string>; input?: string } = {}) {
  const child = run(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', ...opts.env }, timeout: 120_000,
  });
  if (opts.input !== undefined) {
    child.child.stdin?.end(opts.input);
  }
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack({ env: { SPAWNER_ALLOWED_IMAGES: 'mock-app:*,127.0.0.1:1/*' } });
  token = await login(stack);
});
afterAll(async () => { await stack?.teardown(); });

describe('spawner CLI against a real stack', () => {
  it('login, deploy, ls, stop, start, rm with readable and --json output', async () => {
    const common = ['--api', stack.api];
    const lg = await cli(['login', stack.user.username, ...common], { env: { SPAWNER_PASSWORD: stack.user.password } });
    expect(lg.code).toBe(0);
    const cliToken = lg.stdout.trim();
    expect(cliToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    const auth = [...common, '--token', cliToken];

    const dep = await cli(['deploy', 'cli-1', '--image', IMAGES.mockApp, '--env', 'IDLE=0', '--label', 'team=blue', '--json', ...auth]);
    expect(dep.code).toBe(0);
    const deployed = JSON.parse(dep.stdout) as { name: string; id: string; cookie: { value: string }; labels: Record<string, string> };
    expect(deployed.name).toBe('cli-1');
    expect(deployed.cookie.value).toMatch(/^cli-1\.[a-f0-9]{32}$/);
    expect(deployed.labels).toEqual({ team: 'blue' });

    const ls = await cli(['ls', ...auth]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^NAME\tSTATUS\tIMAGE\tID\tROUTING$/m);
    expect(ls.stdout).toMatch(new RegExp(`^cli-1\\trunning\\t${IMAGES.mockApp}\\t${deployed.id.slice(0, 12)}\\tcookie$`, 'm'));

    const stop = await cli(['stop', 'cli-1', '--json', ...auth]);
    expect(JSON.parse(stop.stdout).status).toBe('exited');
    const start = await cli(['start', deployed.id.slice(0, 12), '--json', ...auth]);
    expect(JSON.parse(start.stdout).status).toBe('running');
    const rm = await cli(['rm', 'cli-1', ...auth]);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toMatch(/^cli-1\tremoved/);
    expect((await api(stack, token, 'GET', '/deploy')).body.instances).toEqual([]);
  });

  it('reports API errors with the code and the field, and exits non-zero', async () => {
    const bad = await cli(['deploy', 'Bad_Name', '--image', IMAGES.mockApp, '--api', stack.api, '--token', token]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/400 invalid_field: .*\(field name\)/);
    const noAuth = await cli(['ls', '--api', stack.api]);
    expect(noAuth.code).toBe(1);
    expect(noAuth.stderr).toMatch(/401 unauthorized/);
  });

  it('an allowed image that cannot be had gives image_unavailable and leaves nothing behind', async () => {
    // 127.0.0.1:1 refuses at once: the pull fails fast and never leaves this machine.
    const res = await api(stack, token, 'POST', '/deploy', { name: 'nopull', image: '127.0.0.1:1/missing:1' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'image_unavailable', field: 'image' });
    expect((await api(stack, token, 'GET', '/deploy/nopull')).status).toBe(404);
  });

  it('hash-password prints a users-file line whose hash verifies the password (and only it)', async () => {
    const hp = await cli(['hash-password', '--username', 'bob'], { input: 'correct horse\n' });
    expect(hp.code).toBe(0);
    expect(hp.stdout).toMatch(/^bob,scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\n$/);
    expect(hp.stdout).not.toContain('correct horse');
    const hash = hp.stdout.trim().slice('bob,'.length);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsE', hash)).toBe(false);
  });
});

describe('spawner serve start-up checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spawner-cli-'));

  it('refuses to start without a users file, naming the file and the ways out', async () => {
    const res = await cli(['serve'], { env: { SPAWNER_USERS_FILE: join(dir, 'nope.txt'), SPAWNER_DATA_DIR: dir } });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`users file ${join(dir, 'nope.txt')} not found`);
    expect(res.stderr).toContain('SPAWNER_AUTH_DISABLED');
  });

  it('rejects a bad option value naming the flag, the env variable and what is allowed', async () => {
    const res = await cli(['serve', '--routing', 'magic']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--routing (SPAWNER_ROUTING)');
    expect(res.stderr).toContain('allowed: cookie, host, path');
    const port = await cli(['serve'], { env: { SPAWNER_API_PORT: '70000' } });
    expect(port.stderr).toMatch(/--api-port \(SPAWNER_API_PORT\).*an integer >= 1 <= 65535/);
  });

  it('a malformed users file is refused with the line number and without echoing the hash', async () => {
    const file = join(dir, 'users.txt');
    writeFileSync(file, 'alice,0123456789abcdef\n');
    const res = await cli(['serve'], { env: { SPAWNER_USERS_FILE: file, SPAWNER_DATA_DIR: dir } });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(':1');
    expect(res.stderr).not.toContain('0123456789abcdef');
  });
});
