import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashSecret, newSecret, parseRouteValue, routeValue, valueOpens } from './routing.js';
import type { InstanceRecord } from './types.js';

const SECRET = '0123456789abcdef0123456789abcdef';
const rec = (name: string, over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  name, containerId: null, image: 'mock-app:latest', network: 'spawner', port: 9000, routing: 'cookie',
  public: false, secretHash: hashSecret(SECRET), healthCheck: null, idleTimeoutSec: null, labels: {},
  createdAt: 0, lastWakeAt: null, lastActivityAt: null, ...over,
});

describe('secrets and values', () => {
  it('newSecret is 128 random bits as 32 lowercase hex, different every time', () => {
    const seen = new Set(Array.from({ length: 50 }, newSecret));
    expect(seen.size).toBe(50);
    for (const s of seen) expect(s).toMatch(/^[0-9a-f]{32}$/);
  });

  it('hashSecret is hex sha256', () => {
    expect(hashSecret('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
  });

  it('routeValue is name.secret, or the bare name without a secret', () => {
    expect(routeValue('alice', SECRET)).toBe(`alice.${SECRET}`);
    expect(routeValue('alice', null)).toBe('alice');
  });
});

describe('parseRouteValue', () => {
  it.each([
    [`alice.${SECRET}`, { name: 'alice', secret: SECRET }],
    ['alice', { name: 'alice' }],
    ['a', { name: 'a' }],
    [`minion-10.${SECRET}`, { name: 'minion-10', secret: SECRET }],
  ])('%s parses', (raw, expected) => {
    expect(parseRouteValue(raw)).toEqual(expected);
  });

  it.each([
    undefined, null, 42, ['alice'], {}, '', ' alice', 'alice ', 'Alice', '-alice', 'alice-', 'al_ice',
    `alice.${SECRET.toUpperCase()}`, `alice.${SECRET.slice(1)}`, `alice.${SECRET}0`, `alice.${SECRET}.x`,
    'alice.', '.alice', `alice..${SECRET}`, `${'a'.repeat(64)}`, `${'a'.repeat(90)}.${SECRET}`,
    'alice%2e', 'x`) || PathPrefix(`/', 'alice;other=1', 'alice\n',
  ])('%j is null', (raw) => {
    expect(parseRouteValue(raw)).toBeNull();
  });
});

describe('valueOpens', () => {
  const p = (v: string) => parseRouteValue(v);

  it('opens with its own name and secret', () => {
    expect(valueOpens(rec('alice'), p(`alice.${SECRET}`))).toBe(true);
  });

  it.each([
    ['no value', null],
    ['bare name of a secret instance', 'alice'],
    ['wrong secret', `alice.${'f'.repeat(32)}`],
    ['right secret, other name', `bob.${SECRET}`],
  ])('refuses %s', (_d, v) => {
    expect(valueOpens(rec('alice'), v === null ? null : p(v))).toBe(false);
  });

  it('minion-1 and minion-10 never open each other', () => {
    const s1 = newSecret();
    const s10 = newSecret();
    const m1 = rec('minion-1', { secretHash: hashSecret(s1) });
    const m10 = rec('minion-10', { secretHash: hashSecret(s10) });
    expect(valueOpens(m1, p(`minion-1.${s1}`))).toBe(true);
    expect(valueOpens(m10, p(`minion-10.${s10}`))).toBe(true);
    expect(valueOpens(m10, p(`minion-1.${s1}`))).toBe(false);
    expect(valueOpens(m1, p(`minion-10.${s10}`))).toBe(false);
    expect(valueOpens(m10, p(`minion-1.${s10}`))).toBe(false);
    expect(valueOpens(m1, p(`minion-10.${s1}`))).toBe(false);
  });

  it('bare-name records open only with the bare name (a made-up secret does not help)', () => {
    const r = rec('alice', { secretHash: null });
    expect(valueOpens(r, p('alice'))).toBe(true);
    expect(valueOpens(r, p(`alice.${SECRET}`))).toBe(false);
    expect(valueOpens(r, p('bob'))).toBe(false);
  });

  it('public records open for anyone', () => {
    const r = rec('pub', { public: true, secretHash: null });
    expect(valueOpens(r, null)).toBe(true);
    expect(valueOpens(r, p('other'))).toBe(true);
  });

  it('a corrupt stored hash never opens', () => {
    expect(valueOpens(rec('alice', { secretHash: 'abc' }), p(`alice.${SECRET}`))).toBe(false);
  });
});
