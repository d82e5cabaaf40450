import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpawnerError } from '../errors.js';
import { openDatabase, type Database } from '../store/db.js';
import { TokenStore } from '../store/tokens.js';
import { LoginRateLimiter } from './rate-limit.js';
import { AuthService, type AuthServiceOptions } from './service.js';
import { rejection, thrown } from '../testing/fixtures.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const SERVICE = 'service-token-0123456789';

let db: Database;
let clock: { t: number };
beforeEach(() => {
  db = openDatabase(':memory:');
  clock = { t: 1_700_000_000_000 };
});
afterEach(() => db.close());

function make(over: Partial<AuthServiceOptions> = {}) {
  const now = () => clock.t;
  return new AuthService({
    users: new Map([['alice', sha('apw')]]),
    tokens: new TokenStore(db),
    limiter: new LoginRateLimiter({ now }),
    serviceToken: SERVICE,
    tokenTtlSec: 60,
    now,
    ...over,
  });
}

describe('AuthService', () => {
  it('login returns a token usable in the token header and as a bearer token', async () => {
    const auth = make();
    const token = await auth.login('alice', 'apw', '10.0.0.1');
    const alice = { subject: 'alice', kind: 'user' };
    expect(auth.authenticate({ token })).toEqual(alice);
    expect(auth.authenticate({ authorization: `Bearer ${token}` })).toEqual(alice);
    expect(auth.authenticate({ authorization: `bearer  ${token} ` })).toEqual(alice);
    expect(auth.authenticate({ token: 'junk', authorization: `Bearer ${token}` })).toEqual(alice);
  });

  it('wrong password or unknown user is login_invalid and never echoes secrets', async () => {
    const auth = make();
    for (const [u, p] of [['alice', 'nope'], ['mallory', 'apw'], ['', 'x']] as const) {
      const err = await rejection(auth.login(u, p, '10.0.0.1'));
      expect(err).toMatchObject({ code: 'login_invalid', message: 'login invalid', status: 401 });
      expect(JSON.stringify({ ...err, m: err.message })).not.toMatch(/apw|nope|[0-9a-f]{64}/);
    }
  });

  it('rejects missing, malformed, unknown and repeated credentials', () => {
    const auth = make();
    for (const h of [
      {},
      { token: '' },
      { token: 'unknown' },
      { authorization: `Basic ${SERVICE}` },
      { authorization: 'Bearer' },
      { token: [SERVICE, SERVICE] },
    ]) {
      expect(thrown(() => auth.authenticate(h))).toMatchObject({ code: 'unauthorized', status: 401 });
    }
  });

  it('accepts the static service token in either header', () => {
    const auth = make();
    const svc = { subject: 'service', kind: 'service' };
    expect(auth.authenticate({ token: SERVICE })).toEqual(svc);
    expect(auth.authenticate({ authorization: `Bearer ${SERVICE}` })).toEqual(svc);
    expect(() => auth.authenticate({ token: SERVICE.slice(0, -1) })).toThrow(SpawnerError);
    expect(() => make({ serviceToken: '' }).authenticate({ token: '' })).toThrow(SpawnerError);
  });

  it('tokens expire with the clock', async () => {
    const auth = make();
    const token = await auth.login('alice', 'apw', '');
    clock.t += 59_000;
    expect(auth.authenticate({ token }).subject).toBe('alice');
    clock.t += 1_000;
    expect(thrown(() => auth.authenticate({ token })).code).toBe('unauthorized');
  });

  it('a token of a user removed from the users file stops working', async () => {
    const users = new Map([['alice', sha('apw')]]);
    const token = await make({ users }).login('alice', 'apw', '');
    const after = make({ users: new Map([['bob', sha('b')]]) });
    expect(() => after.authenticate({ token })).toThrow(SpawnerError);
  });

  it('rate limits failed logins with Retry-After, even for the right password', async () => {
    const auth = make();
    for (let i = 0; i < 5; i++) await rejection(auth.login('alice', 'bad', `10.0.0.${i}`));
    const err = await rejection(auth.login('alice', 'apw', '10.0.1.1'));
    expect(err).toMatchObject({ code: 'rate_limited', status: 429 });
    expect(err.retryAfter).toBeGreaterThan(0);
    clock.t += err.retryAfter! * 1000;
    await expect(auth.login('alice', 'apw', '10.0.1.1')).resolves.toEqual(expect.any(String));
  });

  it('auth disabled: everyone is anonymous and login still hands out a token', async () => {
    const auth = make({ users: null });
    expect(auth.enabled).toBe(false);
    expect(auth.authenticate({})).toEqual({ subject: 'anonymous', kind: 'anonymous' });
    expect(auth.authenticate({ token: 'whatever' }).subject).toBe('anonymous');
    await expect(auth.login('anyone', 'anything', '')).resolves.toEqual(expect.any(String));
  });
});

describe('console sessions', () => {
  it('accepts login tokens of current users only, never the service token, and ends them on logout', async () => {
    const auth = make();
    const token = await auth.login('alice', 'apw', '10.0.0.1');
    expect(auth.session(token)).toEqual({ subject: 'alice', kind: 'user' });
    expect(auth.session(SERVICE)).toBeNull();
    expect(auth.session(undefined)).toBeNull();
    expect(auth.session(['a'])).toBeNull();
    auth.logout(token);
    expect(auth.session(token)).toBeNull();
  });

  it('expire with the token and with the user', async () => {
    const token = await make().login('alice', 'apw', '10.0.0.1');
    expect(make({ users: new Map([['bob', sha('x')]]) }).session(token)).toBeNull();
    clock.t += 61_000;
    expect(make().session(token)).toBeNull();
  });

  it('still need a login when auth is disabled, and then name the login', async () => {
    const auth = make({ users: null });
    expect(auth.session('made-up')).toBeNull();
    expect(auth.session(await auth.login('ops', 'anything', '10.0.0.1'))).toEqual({ subject: 'ops', kind: 'anonymous' });
  });
});
