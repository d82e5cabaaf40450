import { describe, expect, it } from 'vitest';
import {
  cookieRuleRegex, instanceLabels, isOwnScopedName, ownershipLabels, parseTraefikHttpKey, routerName,
  type InstanceLabelSpec,
} from './labels.js';

const SECRET = '0123456789abcdef';
const base: InstanceLabelSpec = {
  name: 'minion-1', port: 9000, routing: 'cookie', public: false, routeValue: `minion-1.${SECRET}`,
  cookieName: 'instance', appsDomain: 'apps.localhost', pathPrefix: 'app', entrypoint: 'web',
  network: 'spawner', spawnerId: 'test-id', userLabels: { 'com.example.team': 'blue' }, traefikLabels: {},
};
const R = 'traefik.http.routers.spawner-i-minion-1';
const S = 'traefik.http.services.spawner-i-minion-1';
const M = 'traefik.http.middlewares';
const cookie = (v: string) => `HeaderRegexp(\`Cookie\`, \`(^|;[ \\t]*)instance=${v}[ \\t]*(;|$)\`)`;
const SECRET_COOKIE = cookie(`minion-1\\.${SECRET}`);
const BARE_COOKIE = cookie('minion-1');
const PATH_RULE = '(Path(`/app/minion-1`) || PathPrefix(`/app/minion-1/`))';

/** Everything every instance carries; cases add the rule and mode-specific labels. */
function common(routing: string, pub: boolean): Record<string, string> {
  return {
    'com.example.team': 'blue',
    'traefik.enable': 'true',
    'traefik.docker.network': 'spawner',
    [`${R}.entrypoints`]: 'web',
    [`${R}.service`]: 'spawner-i-minion-1',
    [`${S}.loadbalancer.server.port`]: '9000',
    origin: 'spawner',
    'spawner.id': 'test-id',
    'spawner.instance': 'minion-1',
    'spawner.port': '9000',
    'spawner.routing': routing,
    'spawner.public': String(pub),
  };
}

const cases: { desc: string; spec: Partial<InstanceLabelSpec>; expected: Record<string, string> }[] = [
  {
    desc: 'cookie mode, private: cookie must carry name.secret',
    spec: {},
    expected: { ...common('cookie', false), [`${R}.rule`]: SECRET_COOKIE },
  },
  {
    desc: 'cookie mode, public: the bare name is the cookie value, whatever routeValue says',
    spec: { public: true },
    expected: { ...common('cookie', true), [`${R}.rule`]: BARE_COOKIE },
  },
  {
    desc: 'cookie mode, bare-name compatibility (routeValue = name)',
    spec: { routeValue: 'minion-1' },
    expected: { ...common('cookie', false), [`${R}.rule`]: BARE_COOKIE },
  },
  {
    desc: 'swarm provider: the network key is the swarm provider\'s (it ignores traefik.docker.*)',
    spec: { provider: 'swarm' },
    expected: (() => {
      const { 'traefik.docker.network': _docker, ...rest } = common('cookie', false);
      return { ...rest, 'traefik.swarm.network': 'spawner', [`${R}.rule`]: SECRET_COOKIE };
    })(),
  },
  {
    desc: 'host mode, private: host and cookie',
    spec: { routing: 'host' },
    expected: { ...common('host', false), [`${R}.rule`]: `Host(\`minion-1.apps.localhost\`) && ${SECRET_COOKIE}` },
  },
  {
    desc: 'host mode, public: host only',
    spec: { routing: 'host', public: true },
    expected: { ...common('host', true), [`${R}.rule`]: 'Host(`minion-1.apps.localhost`)' },
  },
  {
    desc: 'path mode, private: exact path or below it, strip prefix, and cookie',
    spec: { routing: 'path' },
    expected: {
      ...common('path', false),
      [`${R}.rule`]: `${PATH_RULE} && ${SECRET_COOKIE}`,
      [`${R}.middlewares`]: 'spawner-i-minion-1__strip',
      [`${M}.spawner-i-minion-1__strip.stripprefix.prefixes`]: '/app/minion-1',
    },
  },
  {
    desc: 'path mode, public, prefix given with slashes and two segments',
    spec: { routing: 'path', public: true, pathPrefix: '/apps/v1/' },
    expected: {
      ...common('path', true),
      [`${R}.rule`]: '(Path(`/apps/v1/minion-1`) || PathPrefix(`/apps/v1/minion-1/`))',
      [`${R}.middlewares`]: 'spawner-i-minion-1__strip',
      [`${M}.spawner-i-minion-1__strip.stripprefix.prefixes`]: '/apps/v1/minion-1',
    },
  },
  {
    desc: 'health check becomes spawner.health-check',
    spec: { healthCheck: 'http://minion-1:9000/health', port: 8080 },
    expected: {
      ...common('cookie', false), [`${R}.rule`]: SECRET_COOKIE, 'spawner.health-check': 'http://minion-1:9000/health',
      [`${S}.loadbalancer.server.port`]: '8080', 'spawner.port': '8080',
    },
  },
  {
    desc: 'opt-in traefik labels pass through; ours win on conflicts',
    spec: {
      traefikLabels: {
        [`${R}.middlewares`]: 'spawner-i-minion-1_auth',
        [`${M}.spawner-i-minion-1_auth.basicauth.users`]: 'u:$apr1$x$y',
        [`${R}.service`]: 'spawner-i-minion-1_other',
      },
    },
    expected: {
      ...common('cookie', false), [`${R}.rule`]: SECRET_COOKIE,
      [`${R}.middlewares`]: 'spawner-i-minion-1_auth',
      [`${M}.spawner-i-minion-1_auth.basicauth.users`]: 'u:$apr1$x$y',
    },
  },
  {
    desc: 'path mode with opt-in middlewares: strip runs first, user middlewares after',
    spec: { routing: 'path', public: true, traefikLabels: { [`${R}.middlewares`]: 'spawner-i-minion-1_hdr' } },
    expected: {
      ...common('path', true),
      [`${R}.rule`]: PATH_RULE,
      [`${R}.middlewares`]: 'spawner-i-minion-1__strip,spawner-i-minion-1_hdr',
      [`${M}.spawner-i-minion-1__strip.stripprefix.prefixes`]: '/app/minion-1',
    },
  },
  {
    desc: 'no user labels',
    spec: { userLabels: {} },
    expected: (({ 'com.example.team': _, ...rest }) => ({ ...rest, [`${R}.rule`]: SECRET_COOKIE }))(common('cookie', false)),
  },
];

describe('instanceLabels', () => {
  it.each(cases)('$desc', ({ spec, expected }) => {
    expect(instanceLabels({ ...base, ...spec })).toEqual(expected);
  });

  const hostile: { desc: string; spec: Partial<InstanceLabelSpec> }[] = [
    { desc: 'name with backtick', spec: { name: 'a`b' } },
    { desc: 'name with rule injection', spec: { name: 'x`) || PathPrefix(`/' } },
    { desc: 'name with spaces', spec: { name: 'minion 1' } },
    { desc: 'uppercase name', spec: { name: 'Minion-1' } },
    { desc: 'unicode name', spec: { name: 'miniön-1' } },
    { desc: '64-char name', spec: { name: 'a'.repeat(64), routeValue: 'a'.repeat(64) } },
    { desc: 'empty name', spec: { name: '' } },
    { desc: 'name with leading dash', spec: { name: '-minion' } },
    { desc: 'cookieName with =', spec: { cookieName: 'a=b' } },
    { desc: 'cookieName with ; and space', spec: { cookieName: 'a; b' } },
    { desc: 'cookieName with quote', spec: { cookieName: 'a"' } },
    { desc: 'routeValue with backtick', spec: { routeValue: 'minion-1.abc`def012345' } },
    { desc: 'routeValue of another instance', spec: { routeValue: `minion-10.${SECRET}` } },
    { desc: 'routeValue with regex', spec: { routeValue: 'minion-1.(.*)' } },
    { desc: 'appsDomain with backtick', spec: { routing: 'host', appsDomain: 'apps`) || Host(`x' } },
    { desc: 'appsDomain with empty label', spec: { routing: 'host', appsDomain: 'apps..localhost' } },
    { desc: 'pathPrefix with dot-dot', spec: { routing: 'path', pathPrefix: 'app/..' } },
    { desc: 'pathPrefix with backtick', spec: { routing: 'path', pathPrefix: 'a`pp' } },
    { desc: 'pathPrefix empty', spec: { routing: 'path', pathPrefix: '/' } },
    { desc: 'entrypoint list', spec: { entrypoint: 'web,websecure' } },
    { desc: 'network with quote', spec: { network: "net'" } },
    { desc: 'spawnerId empty', spec: { spawnerId: '' } },
    { desc: 'port 0', spec: { port: 0 } },
    { desc: 'healthCheck with backtick', spec: { healthCheck: 'http://x/`' } },
    { desc: 'user label traefik.*', spec: { userLabels: { 'Traefik.http.routers.home.rule': 'x' } } },
    { desc: 'user label spawner.id', spec: { userLabels: { 'spawner.id': 'other' } } },
    { desc: 'opt-in label for another router', spec: { traefikLabels: { 'traefik.http.routers.home.middlewares': 'x' } } },
    { desc: 'opt-in label for a dash-prefixed neighbour', spec: { traefikLabels: { 'traefik.http.services.spawner-i-minion-1-b.loadbalancer.server.port': '1' } } },
    { desc: 'opt-in rule', spec: { traefikLabels: { [`${R}.rule`]: 'PathPrefix(`/`)' } } },
    { desc: 'opt-in value with backtick', spec: { traefikLabels: { [`${R}.middlewares`]: 'a`' } } },
    { desc: 'recoverService with a rule-ish value', spec: { recoverService: 'x`) || Path(`/' } },
    { desc: 'recoverService with a comma (two services)', spec: { recoverService: 'a,b' } },
  ];
  it.each(hostile)('throws: $desc', ({ spec }) => {
    expect(() => instanceLabels({ ...base, ...spec })).toThrow();
  });
});

describe('instanceLabels: gateway-error recovery', () => {
  const RECOVER = {
    [`${M}.spawner-i-minion-1__recover.errors.status`]: '502,504',
    [`${M}.spawner-i-minion-1__recover.errors.statusrewrites.502`]: '307',
    [`${M}.spawner-i-minion-1__recover.errors.statusrewrites.504`]: '307',
    [`${M}.spawner-i-minion-1__recover.errors.service`]: 'spawner-wake@docker',
    [`${M}.spawner-i-minion-1__recover.errors.query`]: '/.spawner/recover?url={url}&status={originalStatus}',
  };

  it('cookie mode: an errors middleware sends 502/504 to the wake service, rewritten to 307', () => {
    expect(instanceLabels({ ...base, recoverService: 'spawner-wake@docker' })).toEqual({
      ...common('cookie', false), ...RECOVER,
      [`${R}.rule`]: SECRET_COOKIE,
      [`${R}.middlewares`]: 'spawner-i-minion-1__recover',
    });
  });

  it('path mode: recover is outermost (it catches everything after it), then strip, then opt-in middlewares', () => {
    const labels = instanceLabels({
      ...base, routing: 'path', public: true, recoverService: 'spawner-wake@docker',
      traefikLabels: { [`${R}.middlewares`]: 'spawner-i-minion-1_hdr' },
    });
    expect(labels[`${R}.middlewares`]).toBe('spawner-i-minion-1__recover,spawner-i-minion-1__strip,spawner-i-minion-1_hdr');
    expect(labels).toMatchObject(RECOVER);
  });

  it('no recoverService: no errors middleware at all', () => {
    const labels = instanceLabels({ ...base, recoverService: '' });
    expect(Object.keys(labels).filter((k) => k.includes('recover'))).toEqual([]);
  });

  it("our middlewares cannot be claimed by any instance's opt-in objects", () => {
    // The old `-strip` shape was instance `minion-1-strip`'s own bare object name.
    for (const owner of ['minion-1', 'minion-1-strip', 'minion-1-recover', 'minion']) {
      expect(isOwnScopedName(owner, 'spawner-i-minion-1__strip')).toBe(false);
      expect(isOwnScopedName(owner, 'spawner-i-minion-1__recover')).toBe(false);
    }
  });
});

describe('cookieRuleRegex', () => {
  const rows: { desc: string; value: string; header: string; match: boolean }[] = [
    { desc: 'only cookie', value: 'minion-1', header: 'instance=minion-1', match: true },
    { desc: 'first of several', value: 'minion-1', header: 'instance=minion-1; a=b', match: true },
    { desc: 'last of several', value: 'minion-1', header: 'a=b; instance=minion-1', match: true },
    { desc: 'middle of several', value: 'minion-1', header: 'a=b; instance=minion-1; c=d', match: true },
    { desc: 'no space after ;', value: 'minion-1', header: 'a=b;instance=minion-1;c=d', match: true },
    { desc: 'extra spaces and tab', value: 'minion-1', header: 'a=b;  \tinstance=minion-1 ; c=d', match: true },
    { desc: 'minion-1 rule vs minion-10 cookie', value: 'minion-1', header: 'instance=minion-10', match: false },
    { desc: 'minion-10 rule vs minion-1 cookie', value: 'minion-10', header: 'instance=minion-1', match: false },
    { desc: 'minion-10 rule vs minion-1 in middle', value: 'minion-10', header: 'a=b; instance=minion-1; c=d', match: false },
    { desc: 'suffix on value', value: 'minion-1', header: 'a=b; instance=minion-1x', match: false },
    { desc: 'prefix on name', value: 'minion-1', header: 'xinstance=minion-1', match: false },
    { desc: 'prefix on name, later cookie', value: 'minion-1', header: 'a=b; xinstance=minion-1', match: false },
    { desc: 'name inside another value', value: 'minion-1', header: 'a=instance=minion-1', match: false },
    { desc: 'cookie name case', value: 'minion-1', header: 'Instance=minion-1', match: false },
    { desc: 'value case', value: 'minion-1', header: 'instance=MINION-1', match: false },
    { desc: 'spaces around =', value: 'minion-1', header: 'instance = minion-1', match: false },
    { desc: 'secret matches', value: `minion-1.${SECRET}`, header: `a=b; instance=minion-1.${SECRET}`, match: true },
    { desc: 'dot is escaped', value: `minion-1.${SECRET}`, header: `instance=minion-1x${SECRET}`, match: false },
    { desc: 'wrong secret', value: `minion-1.${SECRET}`, header: 'instance=minion-1.0123456789abcdee', match: false },
    { desc: 'bare name vs secret cookie', value: 'minion-1', header: `instance=minion-1.${SECRET}`, match: false },
    { desc: 'secret rule vs bare cookie', value: `minion-1.${SECRET}`, header: 'instance=minion-1', match: false },
  ];
  it.each(rows)('$desc → $match', ({ value, header, match }) => {
    expect(new RegExp(cookieRuleRegex('instance', value)).test(header)).toBe(match);
  });

  it('sticks to the RE2/JS common subset (no lookaround, backrefs, \\s or flags)', () => {
    const re = cookieRuleRegex('instance', `minion-1.${SECRET}`);
    expect(re).not.toMatch(/\(\?|\\[1-9]|\\s|\\d|\\w/);
    expect(re).not.toContain('`');
  });
});

describe('names and keys', () => {
  it('routerName and ownership', () => {
    expect(routerName('minion-1')).toBe('spawner-i-minion-1');
    expect(ownershipLabels('abc')).toEqual({ origin: 'spawner', 'spawner.id': 'abc' });
    expect(() => ownershipLabels('a b')).toThrow();
  });

  it.each([
    ['spawner-i-a', true], ['spawner-i-a_x', true], ['spawner-i-a_x-1', true],
    ['spawner-i-a-b', false], ['spawner-i-ab', false], ['spawner-i-a_', false], ['spawner-i-a_X', false],
    ['spawner-i-a_x_y', false], ['home', false], ['spawner-wake', false],
  ] as const)('isOwnScopedName(a, %s) = %s', (obj, want) => {
    expect(isOwnScopedName('a', obj)).toBe(want);
  });

  it('parseTraefikHttpKey', () => {
    expect(parseTraefikHttpKey('traefik.http.routers.r.tls')).toEqual({ section: 'routers', object: 'r', attr: ['tls'] });
    expect(parseTraefikHttpKey('traefik.http.middlewares.m.headers.x')).toEqual({
      section: 'middlewares', object: 'm', attr: ['headers', 'x'],
    });
    for (const k of ['traefik.enable', 'traefik.http.routers.r', 'traefik.tcp.routers.r.rule', 'Traefik.http.routers.r.tls',
      'traefik.http.routers..tls', 'traefik.http.routers.r.tls.', 'traefik.http.foo.r.x']) {
      expect(parseTraefikHttpKey(k)).toBeNull();
    }
  });
});
