import { describe, expect, it } from 'vitest';
import { DEFAULTS, type Config } from '../config.js';
import { SpawnerError } from '../errors.js';
import { validateInit } from './init-option.js';

const cfg: Config = { ...structuredClone(DEFAULTS), initMaxPayloadBytes: 100, initDeadlineSec: 30 };

function refusal(raw: unknown): SpawnerError {
  try {
    validateInit(raw, cfg);
  } catch (e) {
    return e as SpawnerError;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('init option', () => {
  it('defaults: empty payload, once, the configured deadline', () => {
    expect(validateInit({ path: '/init' }, cfg)).toEqual({ path: '/init', payload: {}, when: 'once', deadlineSec: 30 });
    expect(validateInit(undefined, cfg)).toBeUndefined();
  });

  it('takes path, payload, when and deadlineSec as given', () => {
    expect(validateInit({ path: '/api/v1/init/', payload: { a: [1] }, when: 'every-start', deadlineSec: 5 }, cfg))
      .toEqual({ path: '/api/v1/init/', payload: { a: [1] }, when: 'every-start', deadlineSec: 5 });
  });

  it.each([
    ['not an object', 'x', 'init'],
    ['array', [], 'init'],
    ['unknown key', { path: '/i', url: 'http://evil' }, 'init.url'],
    ['no path', {}, 'init.path'],
    ['relative path', { path: 'init' }, 'init.path'],
    ['absolute URL', { path: 'http://10.0.0.1/x' }, 'init.path'],
    ['protocol-relative', { path: '//evil.example/x' }, 'init.path'],
    ['dot-dot segment', { path: '/a/../b' }, 'init.path'],
    ['dot segment', { path: '/a/./b' }, 'init.path'],
    ['query', { path: '/init?x=1' }, 'init.path'],
    ['percent escape', { path: '/%2e%2e/x' }, 'init.path'],
    ['CRLF', { path: '/init\r\nHost: x' }, 'init.path'],
    ['too long', { path: `/${'a'.repeat(200)}` }, 'init.path'],
    ['payload array', { path: '/i', payload: [1] }, 'init.payload'],
    ['bad when', { path: '/i', when: 'always' }, 'init.when'],
    ['deadline 0', { path: '/i', deadlineSec: 0 }, 'init.deadlineSec'],
    ['deadline fraction', { path: '/i', deadlineSec: 1.5 }, 'init.deadlineSec'],
    ['deadline huge', { path: '/i', deadlineSec: 3601 }, 'init.deadlineSec'],
  ])('refuses %s', (_desc, raw, field) => {
    const e = refusal(raw);
    expect(e.code).toBe('invalid_field');
    expect(e.field).toBe(field);
  });

  it('caps the payload size (limit_exceeded), counting JSON bytes', () => {
    expect(validateInit({ path: '/i', payload: { a: 'x'.repeat(90) } }, cfg)).toBeDefined();
    const e = refusal({ path: '/i', payload: { a: 'é'.repeat(60) } });
    expect(e.code).toBe('limit_exceeded');
    expect(e.field).toBe('init.payload');
  });
});
