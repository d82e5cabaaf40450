import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { open, parseKey, seal } from './seal.js';

const key = randomBytes(32);

describe('seal / open (AES-256-GCM)', () => {
  it('round-trips, and the sealed bytes do not contain the clear text', () => {
    const s = seal(key, '{"password":"hunter2hunter2"}', 'alice/result');
    expect(s.toString('latin1')).not.toContain('hunter2');
    expect(open(key, s, 'alice/result')).toBe('{"password":"hunter2hunter2"}');
  });

  it('uses a fresh nonce per message', () => {
    expect(seal(key, 'x', 'a').equals(seal(key, 'x', 'a'))).toBe(false);
  });

  it('refuses another key, another row or purpose, and any flipped bit', () => {
    const s = seal(key, 'secret', 'alice/result');
    expect(() => open(randomBytes(32), s, 'alice/result')).toThrow();
    expect(() => open(key, s, 'bob/result')).toThrow();
    expect(() => open(key, s, 'alice/request')).toThrow();
    for (const i of [0, 5, 20, s.length - 1]) {
      const t = Buffer.from(s);
      t[i] = (t[i] ?? 0) ^ 1;
      expect(() => open(key, t, 'alice/result'), `byte ${i}`).toThrow();
    }
  });
});

describe('init key', () => {
  it('accepts 64 hex characters or base64 of 32 bytes', () => {
    const k = randomBytes(32);
    expect(parseKey(k.toString('hex'), 'x').equals(k)).toBe(true);
    expect(parseKey(`${k.toString('base64')}\n`, 'x').equals(k)).toBe(true);
  });

  it('refuses anything else, naming the source and never the value', () => {
    for (const bad of ['', 'short', 'a'.repeat(63), randomBytes(16).toString('hex'), randomBytes(31).toString('base64')]) {
      expect(() => parseKey(bad, 'SPAWNER_INIT_KEY'), bad).toThrow(/^SPAWNER_INIT_KEY: the init key must be 32 bytes/);
    }
    try { parseKey('zz-not-a-key-zz', 'SPAWNER_INIT_KEY'); } catch (e) { expect(String(e)).not.toContain('zz-not-a-key-zz'); }
  });
});
