import { describe, expect, it } from 'vitest';
import { DEFAULTS, type Config } from '../config.js';
import { SpawnerError, type ErrorCode } from '../errors.js';
import type { DeploySpec } from '../instances/types.js';
import { globMatch, validateDeploy, validateName } from './validate.js';

const cfg = (over: Partial<Config> = {}): Config => ({
  ...DEFAULTS, allowedImages: ['mock-app:*', 'registry.example.com/team/**'], allowedNetworks: ['extra-net', 'host'], ...over,
});
const CTX = { defaultNetwork: 'spawner' };
/** The original Go spawner's body shape. */
const body = (over: Record<string, unknown> = {}) => ({
  name: 'minion-1', network: 'spawner', image: 'mock-app:1', labels: {}, envs: {}, ...over,
});
const spec = (over: Partial<DeploySpec> = {}): DeploySpec => ({
  name: 'minion-1', image: 'mock-app:1', network: 'spawner', port: 9000, routing: 'cookie', public: false, egress: true,
  labels: {}, traefikLabels: {}, env: {}, limits: { memoryMb: 256, cpus: 0.5, pids: 256 }, ...over,
});

function caught(fn: () => unknown): SpawnerError {
  try { fn(); } catch (e) { if (e instanceof SpawnerError) return e; throw e; }
  throw new Error('expected a SpawnerError');
}

describe('validateDeploy: accepted bodies', () => {
  const ok: { desc: string; body: unknown; expected: DeploySpec; cfg?: Partial<Config> }[] = [
    { desc: 'original body', body: body(), expected: spec() },
    {
      desc: 'minimal body: network, labels, envs default; untagged image matches as :latest',
      body: { name: 'a', image: 'mock-app' }, expected: spec({ name: 'a', image: 'mock-app' }),
    },
    {
      desc: 'every optional field',
      body: body({
        port: 8080, routing: 'host', public: true, idleTimeout: 0, healthCheck: 'http://minion-1:8080/health',
        limits: { memoryMb: 512, cpus: 1.5 }, envs: { FOO: 'bar', _X1: '' }, labels: { 'com.example/team': 'blue' },
      }),
      expected: spec({
        port: 8080, routing: 'host', public: true, idleTimeoutSec: 0, healthCheck: 'http://minion-1:8080/health',
        limits: { memoryMb: 512, cpus: 1.5, pids: 256 }, env: { FOO: 'bar', _X1: '' }, labels: { 'com.example/team': 'blue' },
      }),
    },
    {
      desc: 'health-check label becomes healthCheck and stays a label',
      body: body({ labels: { 'health-check': 'https://minion-1/ready?x=1' } }),
      expected: spec({ healthCheck: 'https://minion-1/ready?x=1', labels: { 'health-check': 'https://minion-1/ready?x=1' } }),
    },
    { desc: 'listed network', body: body({ network: 'extra-net' }), expected: spec({ network: 'extra-net' }) },
    { desc: 'egress off on request', body: body({ egress: false }), expected: spec({ egress: false }) },
    { desc: 'egress follows the default', cfg: { egressDefault: false }, body: body(), expected: spec({ egress: false }) },
    { desc: 'egress on request, allowed', cfg: { egressDefault: false }, body: body({ egress: true }), expected: spec({ egress: true }) },
    {
      desc: 'routing default follows config; ** crosses segments',
      cfg: { routing: 'path' },
      body: body({ image: 'registry.example.com/team/a/b:2' }),
      expected: spec({ routing: 'path', image: 'registry.example.com/team/a/b:2' }),
    },
    {
      desc: 'digest reference and registry with port',
      cfg: { allowedImages: ['localhost:5000/app@sha256:*'] },
      body: body({ image: `localhost:5000/app@sha256:${'a'.repeat(64)}` }),
      expected: spec({ image: `localhost:5000/app@sha256:${'a'.repeat(64)}` }),
    },
    {
      desc: 'opt-in traefik labels are split out',
      cfg: { allowTraefikLabels: true },
      body: body({ labels: { a: 'b', 'traefik.http.routers.spawner-i-minion-1.middlewares': 'spawner-i-minion-1_auth' } }),
      expected: spec({ labels: { a: 'b' }, traefikLabels: { 'traefik.http.routers.spawner-i-minion-1.middlewares': 'spawner-i-minion-1_auth' } }),
    },
  ];
  it.each(ok)('$desc', ({ body: b, expected, cfg: over }) => {
    expect(validateDeploy(b, cfg(over), CTX)).toEqual(expected);
  });

  it('keeps a __proto__ env key as plain data', () => {
    const s = validateDeploy(JSON.parse('{"name":"a","image":"mock-app:1","envs":{"__proto__":"x"}}'), cfg(), CTX);
    expect(Object.getPrototypeOf(s.env)).toBe(Object.prototype);
    expect(Object.entries(s.env)).toEqual([['__proto__', 'x']]);
  });
});

type Bad = { desc: string; body: unknown; code: ErrorCode; field: string | undefined; cfg?: Partial<Config> };
const many = (n: number, v = 'x') => Object.fromEntries(Array.from({ length: n }, (_, i) => [`K${i}`, v]));
const bad: Bad[] = [
  { desc: 'array body', body: [body()], code: 'invalid_json', field: undefined },
  { desc: 'string body', body: '{"name":"a"}', code: 'invalid_json', field: undefined },
  { desc: 'null body', body: null, code: 'invalid_json', field: undefined },
  { desc: 'rule injection in name', body: body({ name: 'x`) || PathPrefix(`/' }), code: 'invalid_field', field: 'name' },
  { desc: 'name is a number', body: body({ name: 1 }), code: 'invalid_field', field: 'name' },
  { desc: 'name missing', body: { image: 'mock-app:1' }, code: 'invalid_field', field: 'name' },
  { desc: 'uppercase name', body: body({ name: 'Minion-1' }), code: 'invalid_field', field: 'name' },
  { desc: '64-char name', body: body({ name: 'a'.repeat(64) }), code: 'invalid_field', field: 'name' },
  { desc: 'unicode name', body: body({ name: 'miniön' }), code: 'invalid_field', field: 'name' },
  { desc: 'path traversal name', body: body({ name: '../etc' }), code: 'invalid_field', field: 'name' },
  { desc: 'privileged', body: body({ privileged: true }), code: 'invalid_field', field: 'privileged' },
  { desc: 'HostConfig', body: body({ HostConfig: { Privileged: true } }), code: 'invalid_field', field: 'HostConfig' },
  { desc: 'binds', body: body({ binds: ['/:/host'] }), code: 'invalid_field', field: 'binds' },
  { desc: 'host path volume', body: body({ volumes: ['/var/run/docker.sock:/s'] }), code: 'invalid_field', field: 'volumes' },
  { desc: 'cap_add', body: body({ cap_add: ['SYS_ADMIN'] }), code: 'invalid_field', field: 'cap_add' },
  { desc: 'network_mode', body: body({ network_mode: 'host' }), code: 'invalid_field', field: 'network_mode' },
  { desc: 'user', body: body({ user: 'root' }), code: 'invalid_field', field: 'user' },
  { desc: 'ports', body: body({ ports: { '9000/tcp': 80 } }), code: 'invalid_field', field: 'ports' },
  { desc: 'unknown key', body: body({ foo: 1 }), code: 'invalid_field', field: 'foo' },
  { desc: '__proto__ key', body: JSON.parse('{"name":"a","image":"mock-app:1","__proto__":{"privileged":true}}'), code: 'invalid_field', field: '__proto__' },
  { desc: 'disallowed image', body: body({ image: 'evil:latest' }), code: 'image_not_allowed', field: 'image' },
  { desc: 'untagged image is :latest', cfg: { allowedImages: ['mock-app:1'] }, body: body({ image: 'mock-app' }), code: 'image_not_allowed', field: 'image' },
  { desc: '* stays in one segment', cfg: { allowedImages: ['registry.example.com/*:*'] }, body: body({ image: 'registry.example.com/a/b:1' }), code: 'image_not_allowed', field: 'image' },
  { desc: 'image with ..', body: body({ image: 'mock-app/../evil:1' }), code: 'invalid_field', field: 'image' },
  { desc: 'image with spaces', body: body({ image: 'mock-app:1 --privileged' }), code: 'invalid_field', field: 'image' },
  { desc: 'uppercase image', body: body({ image: 'Mock-app:1' }), code: 'invalid_field', field: 'image' },
  { desc: 'image too long', body: body({ image: `mock-app:${'a'.repeat(250)}` }), code: 'invalid_field', field: 'image' },
  { desc: 'image missing', body: { name: 'a' }, code: 'invalid_field', field: 'image' },
  { desc: 'unknown network', body: body({ network: 'other' }), code: 'network_not_allowed', field: 'network' },
  { desc: 'host network even if listed', body: body({ network: 'host' }), code: 'network_not_allowed', field: 'network' },
  { desc: 'Host network in other case', body: body({ network: 'HOST' }), code: 'network_not_allowed', field: 'network' },
  { desc: 'container: network', body: body({ network: 'container:abc' }), code: 'network_not_allowed', field: 'network' },
  { desc: 'bridge network', body: body({ network: 'bridge' }), code: 'network_not_allowed', field: 'network' },
  { desc: 'none network', body: body({ network: 'none' }), code: 'network_not_allowed', field: 'network' },
  { desc: 'network not a string', body: body({ network: ['spawner'] }), code: 'invalid_field', field: 'network' },
  { desc: 'port 0', body: body({ port: 0 }), code: 'invalid_field', field: 'port' },
  { desc: 'port 70000', body: body({ port: 70000 }), code: 'invalid_field', field: 'port' },
  { desc: 'port as string', body: body({ port: '80' }), code: 'invalid_field', field: 'port' },
  { desc: 'fractional port', body: body({ port: 80.5 }), code: 'invalid_field', field: 'port' },
  { desc: 'unknown routing', body: body({ routing: 'magic' }), code: 'invalid_field', field: 'routing' },
  { desc: 'public as string', body: body({ public: 'yes' }), code: 'invalid_field', field: 'public' },
  { desc: 'negative idleTimeout', body: body({ idleTimeout: -1 }), code: 'invalid_field', field: 'idleTimeout' },
  { desc: 'memory above cap', body: body({ limits: { memoryMb: 4096 } }), code: 'limit_exceeded', field: 'limits.memoryMb' },
  { desc: 'cpus above cap', body: body({ limits: { cpus: 64 } }), code: 'limit_exceeded', field: 'limits.cpus' },
  { desc: 'cpus zero', body: body({ limits: { cpus: 0 } }), code: 'limit_exceeded', field: 'limits.cpus' },
  { desc: 'pids fractional', body: body({ limits: { pids: 1.5 } }), code: 'invalid_field', field: 'limits.pids' },
  { desc: 'memory as string', body: body({ limits: { memoryMb: '512' } }), code: 'invalid_field', field: 'limits.memoryMb' },
  { desc: 'unknown limit', body: body({ limits: { swapMb: 1 } }), code: 'invalid_field', field: 'limits.swapMb' },
  { desc: 'limits array', body: body({ limits: [1] }), code: 'invalid_field', field: 'limits' },
  { desc: 'envs array', body: body({ envs: ['A=1'] }), code: 'invalid_field', field: 'envs' },
  { desc: 'env value object', body: body({ envs: { FOO: { a: 1 } } }), code: 'invalid_field', field: 'envs.FOO' },
  { desc: 'env value number', body: body({ envs: { FOO: 1 } }), code: 'invalid_field', field: 'envs.FOO' },
  { desc: 'env key with dash', body: body({ envs: { 'FOO-BAR': 'x' } }), code: 'invalid_field', field: 'envs.FOO-BAR' },
  { desc: 'env key with =', body: body({ envs: { 'A=B': 'x' } }), code: 'invalid_field', field: 'envs.A=B' },
  { desc: 'env value with NUL', body: body({ envs: { A: 'x\u0000y' } }), code: 'invalid_field', field: 'envs.A' },
  { desc: 'too many envs', body: body({ envs: many(65) }), code: 'limit_exceeded', field: 'envs' },
  { desc: 'env bytes', body: body({ envs: many(2, 'x'.repeat(9000)) }), code: 'limit_exceeded', field: 'envs' },
  { desc: 'labels null', body: body({ labels: null }), code: 'invalid_field', field: 'labels' },
  { desc: 'too many labels', body: body({ labels: many(33) }), code: 'limit_exceeded', field: 'labels' },
  { desc: 'label bytes', body: body({ labels: many(1, 'x'.repeat(8192)) }), code: 'limit_exceeded', field: 'labels' },
  { desc: 'label key with space', body: body({ labels: { 'a b': 'x' } }), code: 'invalid_field', field: 'labels.a b' },
  { desc: 'label value number', body: body({ labels: { a: 1 } }), code: 'invalid_field', field: 'labels.a' },
  { desc: 'healthCheck with credentials', body: body({ healthCheck: 'http://u:p@minion-1/' }), code: 'invalid_field', field: 'healthCheck' },
  { desc: 'healthCheck file URL', body: body({ healthCheck: 'file:///etc/passwd' }), code: 'invalid_field', field: 'healthCheck' },
  { desc: 'healthCheck not a URL', body: body({ healthCheck: '/health' }), code: 'invalid_field', field: 'healthCheck' },
  { desc: 'healthCheck with backtick', body: body({ healthCheck: 'http://a/`' }), code: 'invalid_field', field: 'healthCheck' },
  { desc: 'health-check label javascript:', body: body({ labels: { 'health-check': 'javascript:alert(1)' } }), code: 'invalid_field', field: 'labels.health-check' },
  {
    desc: 'healthCheck and label disagree',
    body: body({ healthCheck: 'http://a/x', labels: { 'health-check': 'http://a/y' } }), code: 'invalid_field', field: 'healthCheck',
  },
  { desc: 'egress beyond the cap', cfg: { egressDefault: false, egressAllowed: false }, body: body({ egress: true }), code: 'network_not_allowed', field: 'egress' },
  { desc: 'egress not a boolean', body: body({ egress: 'yes' }), code: 'invalid_field', field: 'egress' },
];

describe('validateDeploy: hostile bodies', () => {
  it('has at least 30 cases', () => expect(bad.length).toBeGreaterThanOrEqual(30));
  it.each(bad)('$desc → $code ($field)', ({ body: b, code, field, cfg: over }) => {
    const e = caught(() => validateDeploy(b, cfg(over), CTX));
    expect({ code: e.code, field: e.field }).toEqual({ code, field });
  });
});

describe('validateDeploy on the swarm runtime: a name that fits a Swarm service name', () => {
  // 63 (a DNS label) - 'spawner-' (8) - room for a revision's '_r<n>' (7) = 48.
  const swarm = cfg({ runtime: 'swarm' });
  it('accepts the longest name that fits, and any length on docker', () => {
    expect(validateDeploy(body({ name: 'a'.repeat(48) }), swarm, CTX).name).toBe('a'.repeat(48));
    expect(validateDeploy(body({ name: 'a'.repeat(63) }), cfg(), CTX).name).toBe('a'.repeat(63));
  });
  it('refuses one character more, naming the limit and why', () => {
    const e = caught(() => validateDeploy(body({ name: 'a'.repeat(49) }), swarm, CTX));
    expect({ code: e.code, field: e.field }).toEqual({ code: 'invalid_field', field: 'name' });
    expect(e.message).toMatch(/at most 48 characters.*Swarm service name is at most 63/);
  });
  it('counts the operator\'s prefix', () => {
    expect(caught(() => validateDeploy(body({ name: 'a'.repeat(40) }), cfg({ runtime: 'swarm', containerPrefix: 'a-long-prefix-for-t-' }), CTX)).field).toBe('name');
  });
});

describe('validateName', () => {
  it.each(['minion-1', 'a', 'abcdef012345', 'f'.repeat(64)])('accepts %s', (n) => expect(validateName(n)).toBe(n));
  it.each(['../', '..', '%2e%2e', '%2e%2e%2fetc', 'a/b', '', 'ABCDEF012345', 'f'.repeat(65), 'a.b', ' a'])('rejects %j', (n) => {
    expect(caught(() => validateName(n, 'nameOrId'))).toMatchObject({ code: 'invalid_field', field: 'nameOrId' });
  });
  it('rejects non-strings', () => expect(caught(() => validateName(5)).field).toBe('name'));
});

describe('globMatch', () => {
  it.each([
    ['mock-app:*', 'mock-app:1', true], ['mock-app:*', 'mock-app:latest', true], ['mock-app:*', 'mock-app-evil:1', false],
    ['mock-app:*', 'x/mock-app:1', false], ['r.io/*:*', 'r.io/a:1', true], ['r.io/*:*', 'r.io/a/b:1', false],
    ['r.io/**', 'r.io/a/b:1', true], ['r.io/**', 'r.io.evil/a:1', false], ['a.b:1', 'aXb:1', false],
    ['mock-app:1', 'mock-app:10', false], ['**', 'anything/at:all', true], ['m?:1', 'ma:1', false],
  ] as const)('%s vs %s → %s', (p, v, want) => expect(globMatch(p, v)).toBe(want));
});
