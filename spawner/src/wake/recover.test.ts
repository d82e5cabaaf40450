import { describe, expect, it } from 'vitest';
import { FRESH_START_MS, originalRequest, planRecovery, recoveryStatus, unstrip } from './recover.js';

describe('planRecovery', () => {
  const now = Date.parse('2026-11-24T06:00:00Z');
  const ago = (ms: number) => new Date(now - ms).toISOString();

  it('wakes when a stop or wake of ours holds the instance, even if Docker still says running', () => {
    expect(planRecovery({ busy: true, running: true, startedAt: ago(3_600_000), now })).toBe('wake');
  });

  it('wakes when the container is not running or is gone', () => {
    expect(planRecovery({ busy: false, running: false, startedAt: ago(3_600_000), now })).toBe('wake');
    expect(planRecovery({ busy: false, running: null, now })).toBe('wake');
  });

  it('wakes (sends the client back) when the app started within FRESH_START_MS or its start time is unknown', () => {
    expect(planRecovery({ busy: false, running: true, startedAt: ago(FRESH_START_MS - 1), now })).toBe('wake');
    expect(planRecovery({ busy: false, running: true, startedAt: 'garbage', now })).toBe('wake');
  });

  it('blames the app when it has been running steadily and nothing of ours is in progress', () => {
    expect(planRecovery({ busy: false, running: true, startedAt: ago(FRESH_START_MS), now })).toBe('app-error');
  });
});

describe('originalRequest', () => {
  it('accepts http(s) URLs on exactly this Host (case and default port normalised)', () => {
    expect(originalRequest('http://a.example/x/y?q=1', 'a.example')).toEqual({ path: '/x/y', target: '/x/y?q=1' });
    expect(originalRequest('https://A.example:443/x', 'a.EXAMPLE')).toEqual({ path: '/x', target: '/x' });
    expect(originalRequest('http://127.0.0.1:8080/', '127.0.0.1:8080')).toEqual({ path: '/', target: '/' });
  });

  it('refuses other hosts, ports, schemes, credentials, odd Host headers and non-strings', () => {
    expect(originalRequest('http://b.example/x', 'a.example')).toBeNull();
    expect(originalRequest('http://a.example:81/x', 'a.example')).toBeNull();
    expect(originalRequest('ftp://a.example/x', 'a.example')).toBeNull();
    expect(originalRequest('http://u:p@a.example/x', 'a.example')).toBeNull();
    expect(originalRequest('http://a.example/x', 'a.example/evil')).toBeNull();
    expect(originalRequest('http://a.example/x', undefined)).toBeNull();
    expect(originalRequest(['http://a.example/x'], 'a.example')).toBeNull();
    expect(originalRequest(`http://a.example/${'x'.repeat(9000)}`, 'a.example')).toBeNull();
  });
});

describe('recoveryStatus', () => {
  it('is 502 or 504, anything else reads as 502', () => {
    expect(recoveryStatus('504')).toBe(504);
    expect(recoveryStatus('502')).toBe(502);
    expect(recoveryStatus('200')).toBe(502);
    expect(recoveryStatus(undefined)).toBe(502);
  });
});

describe('unstrip (path mode: stripprefix rewrote the URL before the errors middleware read it)', () => {
  const o = (target: string) => ({ path: target.split('?')[0] ?? target, target });

  it('puts back an exact instance prefix from X-Forwarded-Prefix, query kept', () => {
    expect(unstrip(o('/fail/502?q=1'), '/app/rc-path', 'app')).toEqual({ path: '/app/rc-path/fail/502', target: '/app/rc-path/fail/502?q=1' });
    expect(unstrip(o('/'), '/app/rc-path', 'app')).toEqual({ path: '/app/rc-path/', target: '/app/rc-path/' });
    expect(unstrip(o('/?a=b'), '/apps/v1/x', 'apps/v1')).toEqual({ path: '/apps/v1/x/', target: '/apps/v1/x/?a=b' });
  });

  it('leaves the URL alone without the header, for anything but an exact instance prefix, or if not stripped', () => {
    expect(unstrip(o('/x'), undefined, 'app')).toEqual(o('/x'));
    for (const bad of ['/other/rc-path', '/app/rc-path/deeper', '/app/Bad_Name', '//evil.example', '/app/', ['/app/a']]) {
      expect(unstrip(o('/x'), bad, 'app')).toEqual(o('/x'));
    }
    expect(unstrip(o('/app/a/x'), '/app/a', 'app')).toEqual(o('/app/a/x'));
  });
});
