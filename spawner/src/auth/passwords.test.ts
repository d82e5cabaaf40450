import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashPassword, isLegacyHash, isSupportedHash, verifyPassword } from './passwords.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('legacy sha256 hashes', () => {
  it('verifies right and wrong passwords, hex case-insensitively', async () => {
    const h = sha('hunter2');
    expect(isLegacyHash(h)).toBe(true);
    expect(await verifyPassword('hunter2', h)).toBe(true);
    expect(await verifyPassword('hunter2', h.toUpperCase())).toBe(true);
    expect(await verifyPassword('hunter3', h)).toBe(false);
    expect(await verifyPassword('', h)).toBe(false);
  });

  it('handles non-ASCII passwords as UTF-8', async () => {
    expect(await verifyPassword('pässwörd', sha('pässwörd'))).toBe(true);
  });
});

describe('scrypt hashes', () => {
  it('hashPassword produces the documented format with a fresh salt', async () => {
    const a = await hashPassword('s3cret');
    const b = await hashPassword('s3cret');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(a).not.toBe(b);
    expect(isLegacyHash(a)).toBe(false);
    expect(isSupportedHash(a)).toBe(true);
  });

  it('verifies right and wrong passwords', async () => {
    const h = await hashPassword('s3cret');
    expect(await verifyPassword('s3cret', h)).toBe(true);
    expect(await verifyPassword('s3cret ', h)).toBe(false);
    expect(await verifyPassword('', h)).toBe(false);
  });

  it('rejects malformed or absurd-cost hashes without throwing', async () => {
    const good = await hashPassword('x');
    const [, , , , salt, key] = good.split('$');
    const bad = [
      '',
      'abc',
      sha('x').slice(1),
      `scrypt$16384$8$1$${salt}`,
      `scrypt$16383$8$1$${salt}$${key}`, // N not a power of two
      `scrypt$${2 ** 24}$8$1$${salt}$${key}`, // would need gigabytes
      `scrypt$16384$0$1$${salt}$${key}`,
      `scrypt$16384$8$1$!!!$${key}`,
      `scrypt$16384$8$1$${salt}$AAAA`, // key too short to mean anything
      `bcrypt$16384$8$1$${salt}$${key}`,
    ];
    for (const h of bad) {
      expect(isSupportedHash(h)).toBe(false);
      expect(await verifyPassword('x', h)).toBe(false);
    }
  });
});
