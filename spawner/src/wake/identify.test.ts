import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, type Config } from '../config.js';
import { hashSecret, newSecret } from '../instances/routing.js';
import type { InstanceRecord } from '../instances/types.js';
import { openDatabase, type Database } from '../store/db.js';
import { InstanceStore } from '../store/instances.js';
import { identify, type WakeRequestInfo } from './identify.js';

const cfg: Config = { ...structuredClone(DEFAULTS) };
const secrets: Record<string, string> = {};
let db: Database;
let store: InstanceStore;

function add(name: string, over: Partial<InstanceRecord> = {}) {
  const secret = newSecret();
  secrets[name] = secret;
  store.insert({
    name, containerId: null, image: 'mock-app:latest', network: 'spawner', port: 9000, routing: 'cookie',
    public: false, secretHash: hashSecret(secret), healthCheck: null, idleTimeoutSec: null, labels: {},
    createdAt: 0, lastWakeAt: null, lastActivityAt: null, ...over,
  });
}

beforeAll(() => {
  db = openDatabase(':memory:');
  store = new InstanceStore(db);
  add('alice');
  add('bob');
  add('minion-1');
  add('minion-10');
  add('hosty', { routing: 'host' });
  add('pathy', { routing: 'path' });
  add('bare', { secretHash: null });
  add('pub', { public: true, secretHash: null });
  add('pubhost', { public: true, secretHash: null, routing: 'host' });
  add('pubpath', { public: true, secretHash: null, routing: 'path' });
});
afterAll(() => db.close());

const val = (name: string) => `${name}.${secrets[name]}`;
const req = (cookie: unknown, over: Partial<WakeRequestInfo> = {}): WakeRequestInfo => ({
  host: 'localhost', path: '/', cookies: cookie === undefined ? {} : { instance: cookie }, ...over,
});
const who = (r: WakeRequestInfo) => identify(cfg, store, r);

describe('identify: cookie mode', () => {
  it('the right name.secret identifies the instance and returns the raw value', () => {
    const id = who(req(val('alice')));
    expect(id?.rec.name).toBe('alice');
    expect(id?.value).toBe(val('alice'));
  });

  it('ignores other cookies and uses the configured cookie name', () => {
    expect(who({ host: 'x', path: '/', cookies: { other: val('alice') } })).toBeNull();
    const c2: Config = { ...cfg, cookieName: 'route' };
    expect(identify(c2, store, { host: 'x', path: '/', cookies: { route: val('alice') } })?.rec.name).toBe('alice');
    expect(identify(c2, store, { host: 'x', path: '/', cookies: { instance: val('alice') } })).toBeNull();
  });

  const refusals: [string, unknown][] = [
    ['no cookie', undefined],
    ['empty cookie', ''],
    ['malformed', 'alice..x'],
    ['uppercase', val('alice').toUpperCase()],
    ['non-string (array)', [val('alice')]],
    ['non-string (object)', { a: 1 }],
    ['unknown name', `nobody.${'a'.repeat(32)}`],
    ['unknown bare name', 'nobody'],
    ['forged secret', `alice.${'0'.repeat(32)}`],
    ['bare name of a secret instance', 'alice'],
    ["other instance's secret", `alice.${secrets.bob ?? ''}`],
    ["other instance's whole value", 'BOB'],
    ['rule injection', 'x`) || PathPrefix(`/'],
    ['secret with trailing junk', `${val('alice')}x`],
    ['bare-name instance with a made-up secret', `bare.${'a'.repeat(32)}`],
  ];
  it.each(refusals)('%s → null', (_d, cookie) => {
    expect(who(req(cookie === 'BOB' ? val('bob').replace('bob', 'alice') : cookie))).toBeNull();
  });

  it('every refusal is the same null (no oracle)', () => {
    const answers = refusals.map(([, c]) => who(req(c === 'BOB' ? val('bob').replace('bob', 'alice') : c)));
    expect(new Set(answers)).toEqual(new Set([null]));
  });

  it("minion-1's value never opens minion-10 and vice versa", () => {
    expect(who(req(val('minion-1')))?.rec.name).toBe('minion-1');
    expect(who(req(val('minion-10')))?.rec.name).toBe('minion-10');
    expect(who(req(`minion-10.${secrets['minion-1'] ?? ''}`))).toBeNull();
    expect(who(req(`minion-1.${secrets['minion-10'] ?? ''}`))).toBeNull();
    expect(who(req('minion-1'))).toBeNull();
    expect(who(req('minion-10'))).toBeNull();
  });

  it('bare-name instances open with the bare name', () => {
    expect(who(req('bare'))?.rec.name).toBe('bare');
  });

  it('public cookie instances open with the bare name', () => {
    const id = who(req('pub'));
    expect(id?.rec.name).toBe('pub');
    expect(id?.value).toBe('pub');
  });

  it('a cookie-mode instance is not reachable by host or path addressing', () => {
    expect(who(req(val('alice'), { host: 'alice.apps.localhost' }))).toBeNull();
    expect(who(req(val('alice'), { path: '/app/alice/' }))).toBeNull();
  });
});

describe('identify: host mode', () => {
  it('host + matching cookie identifies', () => {
    expect(who(req(val('hosty'), { host: 'hosty.apps.localhost' }))?.rec.name).toBe('hosty');
    expect(who(req(val('hosty'), { host: 'HOSTY.Apps.Localhost:8080' }))?.rec.name).toBe('hosty');
  });

  it.each([
    ['no cookie', undefined, 'hosty.apps.localhost'],
    ['forged secret', `hosty.${'0'.repeat(32)}`, 'hosty.apps.localhost'],
    ["another instance's value", val('alice'), 'hosty.apps.localhost'],
    ['cookie alone, no host', val('hosty'), 'localhost'],
    ['wrong domain', val('hosty'), 'hosty.evil.com'],
    ['domain as a prefix', val('hosty'), 'hosty.apps.localhost.evil.com'],
    ['nested label', val('hosty'), 'a.hosty.apps.localhost'],
    ['no Host header', val('hosty'), undefined],
  ])('%s → null', (_d, cookie, host) => {
    expect(who(req(cookie, { host }))).toBeNull();
  });

  it('public host instances need no cookie', () => {
    const id = who(req(undefined, { host: 'pubhost.apps.localhost' }));
    expect(id?.rec.name).toBe('pubhost');
    expect(id?.value).toBeUndefined();
  });
});

describe('identify: path mode', () => {
  it.each(['/app/pathy', '/app/pathy/', '/app/pathy/deep/x', '/app/pathy?x=1'])('%s + cookie identifies', (path) => {
    expect(who(req(val('pathy'), { path }))?.rec.name).toBe('pathy');
  });

  it.each([
    ['no cookie', undefined, '/app/pathy/'],
    ['forged secret', `pathy.${'0'.repeat(32)}`, '/app/pathy/'],
    ["another instance's value", val('alice'), '/app/pathy/'],
    ['longer name sharing the prefix', val('pathy'), '/app/pathyx/'],
    ['other prefix', val('pathy'), '/other/pathy/'],
    ['prefix not at the start', val('pathy'), '/x/app/pathy/'],
    ['cookie alone on another path', val('pathy'), '/'],
  ])('%s → null', (_d, cookie, path) => {
    expect(who(req(cookie, { path }))).toBeNull();
  });

  it('public path instances need no cookie', () => {
    expect(who(req(undefined, { path: '/app/pubpath/x' }))?.rec.name).toBe('pubpath');
  });

  it('respects a custom path prefix', () => {
    const c2: Config = { ...cfg, pathPrefix: 'u' };
    expect(identify(c2, store, req(val('pathy'), { path: '/u/pathy/' }))?.rec.name).toBe('pathy');
    expect(identify(c2, store, req(val('pathy'), { path: '/app/pathy/' }))).toBeNull();
  });
});
