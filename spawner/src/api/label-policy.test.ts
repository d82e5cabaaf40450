import { describe, expect, it } from 'vitest';
import { DEFAULTS, type Config } from '../config.js';
import { SpawnerError, type ErrorCode } from '../errors.js';
import { validateDeploy } from './validate.js';

const CTX = { defaultNetwork: 'spawner' };
const deploy = (labels: Record<string, unknown>, over: Partial<Config> = {}) =>
  validateDeploy({ name: 'minion-1', image: 'mock-app:1', labels }, { ...DEFAULTS, ...over }, CTX);

function caught(fn: () => unknown): SpawnerError {
  try { fn(); } catch (e) { if (e instanceof SpawnerError) return e; throw e; }
  throw new Error('expected a SpawnerError');
}

const R = 'traefik.http.routers.spawner-i-minion-1';
const S = 'traefik.http.services.spawner-i-minion-1';
const M = 'traefik.http.middlewares.spawner-i-minion-1';

/** Refused whatever the configuration says. */
const always: [string, string, string][] = [
  ['origin', 'origin', 'spawner'],
  ['Origin in other case', 'Origin', 'spawner'],
  ['spawner.id', 'spawner.id', 'other-installation'],
  ['spawner.instance', 'spawner.instance', 'minion-2'],
  ['Spawner.Public', 'Spawner.Public', 'true'],
  ['compose project hijack', 'com.docker.compose.project', 'infra'],
  ['traefik.enable', 'traefik.enable', 'false'],
  ['Traefik.Enable case game', 'Traefik.Enable', 'true'],
  ['TRAEFIK.ENABLE', 'TRAEFIK.ENABLE', 'true'],
  ['traefik.docker.network', 'traefik.docker.network', 'host'],
  ['traefik.tls.certresolver', 'traefik.tls.certresolver', 'le'],
  ['home router rule', 'traefik.http.routers.home.rule', 'PathPrefix(`/`)'],
  ['wake router', 'traefik.http.routers.spawner-wake.priority', '1'],
  ['own router rule', `${R}.rule`, 'PathPrefix(`/`)'],
  ['own router priority', `${R}.priority`, '100000'],
  ['own router service', `${R}.service`, 'api@internal'],
  ['own router entrypoints', `${R}.entrypoints`, 'traefik'],
  ['router tls domains', `${R}.tls.domains`, 'evil.example'],
  ['service server url', `${S}.loadbalancer.server.url`, 'http://169.254.169.254/'],
  ['service servers url', `${S}.loadbalancer.servers.0.url`, 'http://spawner:8008/'],
  ['service server port', `${S}.loadbalancer.server.port`, '8008'],
  ['service transport', `${S}.loadbalancer.serverstransport`, 'insecure@file'],
  ['neighbour service via dash prefix', 'traefik.http.services.spawner-i-minion-1-b.loadbalancer.passhostheader', 'true'],
  ['neighbour middleware via dash prefix', 'traefik.http.middlewares.spawner-i-minion-1-b-strip.stripprefix.prefixes', '/'],
  ['another instance router', 'traefik.http.routers.spawner-i-minion-10.middlewares', 'spawner-i-minion-10'],
  ['uppercase key segment', `${R}.Middlewares`, 'spawner-i-minion-1_a'],
  ['foreign middleware reference', `${R}.middlewares`, 'admin-auth@file'],
  ['own middleware with other provider', `${R}.middlewares`, 'spawner-i-minion-1_a@file'],
  ['forwardauth (SSRF)', `${M}_a.forwardauth.address`, 'http://spawner:8008/instances'],
  ['errors middleware (exposes other services)', `${M}_a.errors.service`, 'api@internal'],
  ['chain middleware', `${M}_a.chain.middlewares`, 'admin@file'],
  ['basicauth usersfile', `${M}_a.basicauth.usersfile`, '/etc/shadow'],
  ['plugin middleware', `${M}_a.plugin.x.y`, 'z'],
  ['backtick in value', `${M}_a.headers.customresponseheaders.x`, 'a`b'],
  ['newline in value', `${M}_a.headers.customresponseheaders.x`, 'a\nb'],
  ['tcp router', 'traefik.tcp.routers.spawner-i-minion-1.rule', 'HostSNI(`*`)'],
  ['tls must be boolean', `${R}.tls`, 'maybe'],
];

describe('label policy', () => {
  it.each(always)('default config refuses %s', (_d, key) => {
    const e = caught(() => deploy({ [key]: 'x' }));
    expect({ code: e.code, field: e.field }).toEqual({ code: 'label_forbidden', field: `labels.${key}` });
  });

  it.each(always)('opt-in config still refuses %s', (_d, key, value) => {
    const e = caught(() => deploy({ [key]: value }, { allowTraefikLabels: true }));
    expect({ code: e.code as ErrorCode, field: e.field }).toEqual({ code: 'label_forbidden', field: `labels.${key}` });
  });

  it('explains the managed alternative', () => {
    expect(caught(() => deploy({ 'traefik.enable': 'true' })).message).toMatch(/use `port` and `routing`/);
  });

  const allowed: Record<string, string> = {
    [`${R}.middlewares`]: 'spawner-i-minion-1_auth,spawner-i-minion-1_hdr@docker',
    [`${R}.tls`]: 'true',
    [`${S}.loadbalancer.sticky.cookie.name`]: 'lb',
    [`${S}.loadbalancer.healthcheck.path`]: '/health',
    [`${S}.loadbalancer.passhostheader`]: 'false',
    [`${M}_auth.basicauth.users`]: 'u:$apr1$x$y',
    [`${M}_hdr.headers.customresponseheaders.x-frame-options`]: 'DENY',
    [`${M}.ratelimit.average`]: '10',
  };

  it('opt-in passes the allowlist through to traefikLabels', () => {
    const s = deploy({ ...allowed, plain: 'label' }, { allowTraefikLabels: true });
    expect(s.traefikLabels).toEqual(allowed);
    expect(s.labels).toEqual({ plain: 'label' });
  });

  it('without opt-in even allowlisted keys are refused', () => {
    for (const key of Object.keys(allowed)) expect(caught(() => deploy({ [key]: 'x' })).code).toBe('label_forbidden');
  });
});
